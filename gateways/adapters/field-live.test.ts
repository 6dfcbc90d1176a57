import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { io as ioClient, type Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FIELD_SIGMA, matpowerToCity, networkFromCity, parseCity, parseMatpower, simulateField, type CityModel } from '../../engine/index.ts';
import { sharedDataFile } from '../../test/shared-data.ts';
import { requireUrl, serviceFromEnv, waitFor } from './testing.ts';
import { sendField, type FieldTarget } from './field-sender.ts';
import type { Alert, EstimationEvent } from '../protocol.ts';
import { startServerWith } from '../server.ts';

const city118 = (): CityModel => parseCity(matpowerToCity(parseMatpower(readFileSync(sharedDataFile('grids/case118.m'), 'utf8'), 'case118')), 'case118');

/**
 * The field simulator against a running server with the live estimator on: one scan with an
 * attacker adding 60 MW to br-20's readings, sent over `transport`; the estimator must flag br-20.
 */
async function spoofCaught(transport: (server: { url: string; adminToken: string }) => FieldTarget, env: NodeJS.ProcessEnv): Promise<void> {
  const city = city118();
  const server = await startServerWith({ city, seed: 4, port: 0, quiet: true, dataDir: false, uiDir: false }, { rateLimitPerMinute: 1_000_000, env: { STRATUM_ESTIMATION: '1', STRATUM_ESTIMATION_EVERY_S: '2', ...env } });
  let socket: Socket | undefined;
  try {
    const alerts: Alert[] = [];
    socket = ioClient(server.url, { transports: ['websocket'], reconnection: false, auth: { token: server.adminToken } });
    socket.on('alerts', (a: Alert[]) => alerts.push(...a));
    const runs: EstimationEvent[] = [];
    socket.on('estimation', (run: EstimationEvent) => runs.push(run));
    await new Promise<void>((resolve, reject) => {
      socket!.once('connect', resolve);
      socket!.once('connect_error', reject);
    });
    const run = simulateField(networkFromCity(city), { seconds: 1, rateHz: 1, sigma: DEFAULT_FIELD_SIGMA, dropout: 0, stuck: [], delayS: 0, spoof: new Map([['br-20', 60]]), pmu: [], seed: 12, sensorSet: 'scada' });
    const report = await sendField(run, transport(server), { pace: 0 });
    expect(report.refused).toBe(0);
    expect(report.sent).toBe(run.readings.length);
    await waitFor('the estimator to flag br-20', () => alerts.some((a) => a.causedBy === 'state-estimator' && a.id === 'br-20'), 20_000);
    const flagged = alerts.filter((a) => a.causedBy === 'state-estimator' && /^bad data:/.test(a.detail ?? ''));
    expect(flagged.map((a) => a.id)).toEqual(['br-20']);
    expect(flagged[0]!.detail).toMatch(/normalised residual \d+/);
    // The stream's estimation event says so too (the UI refreshes σ and trust on it).
    await waitFor('an estimation event naming br-20 excluded', () => runs.some((r) => r.excluded.includes('br-20') && r.islands === 1), 10_000);
    const get = async (path: string): Promise<Record<string, unknown>> => (await (await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${server.adminToken}` } })).json()) as Record<string, unknown>;
    const estimation = (await get('/api/estimation')) as { enabled: boolean; runs: number; islands: Array<{ chi2Threshold: number; degreesOfFreedom: number }>; excluded: Array<{ sensor: string }> };
    expect(estimation.enabled).toBe(true);
    expect(estimation.runs).toBeGreaterThanOrEqual(1);
    expect(estimation.islands[0]!.degreesOfFreedom).toBeGreaterThan(0);
    expect(estimation.excluded.map((e) => e.sensor)).toContain('br-20');
    const asset = (await get('/api/assets/br-20')) as { load: number; details: { estimate: { valueMw: number; sigmaMw: number; readingMw: number; excluded: boolean; trust: { score: number } } } };
    const estimate = asset.details.estimate;
    expect(estimate.excluded).toBe(true);
    expect(estimate.trust.score).toBeLessThan(40);
    expect(estimate.readingMw - estimate.valueMw).toBeGreaterThan(40); // the twin shows the estimate, not the spoofed reading
    // In the live DC model a branch's load is its computed flow, driven by the estimated injections:
    // the spoofed reading (a measurement only) never becomes the load.
    await waitFor('the branch load to stand far from the spoofed reading', async () => {
      const now = (await get('/api/assets/br-20')) as { load: number; details: { estimate: { readingMw: number } } };
      return Math.abs(now.load - now.details.estimate.readingMw) > 40;
    }, 10_000);
  } finally {
    socket?.close();
    await server.close();
  }
}

describe('the field simulator over HTTP against a running server', () => {
  it('a spoofed branch sensor is caught by the live estimator: an alert names br-20, the API shows it excluded and the twin shows the estimate', async () => {
    await spoofCaught((server) => ({ kind: 'http', url: server.url, token: server.adminToken, concurrency: 8 }), {});
  }, 60_000);
});

const kafka = serviceFromEnv('kafka');
describe.skipIf(kafka.skip)(`the field simulator over Kafka (${kafka.reason})`, () => {
  it('a spoofed branch sensor sent on the telemetry topic is caught by the live estimator', async () => {
    const brokers = requireUrl(kafka).split(',');
    const tag = randomUUID().slice(0, 8);
    const topic = `field-${tag}`;
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }, { topic: `${topic}.commands`, numPartitions: 1 }], waitForLeaders: true });
      await spoofCaught(() => ({ kind: 'kafka', brokers, topic }), {
        STRATUM_ADAPTERS: '1',
        STRATUM_KAFKA_BROKERS: requireUrl(kafka),
        STRATUM_KAFKA_GROUP: `g-${tag}`,
        STRATUM_KAFKA_TELEMETRY_TOPIC: topic,
        STRATUM_KAFKA_COMMANDS_TOPIC: `${topic}.commands`,
      });
    } finally {
      await admin.deleteTopics({ topics: [topic, `${topic}.commands`] }).catch(() => undefined);
      await admin.disconnect();
    }
  }, 90_000);
});
if (kafka.skip) console.log(`field over Kafka: ${kafka.reason}`);
