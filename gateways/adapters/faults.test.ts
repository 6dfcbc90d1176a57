import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { brokersFromEnv } from './kafka.ts';
import { requireUrl, serviceFromEnv, waitFor } from './testing.ts';

const kafka = serviceFromEnv('kafka');
const postgres = serviceFromEnv('pg');
const child = fileURLToPath(new URL('./ingest-child.ts', import.meta.url));

function startChild(env: Record<string, string>): { proc: ChildProcess; lines: string[] } {
  const proc = spawn(process.execPath, ['--import', 'tsx', child], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let rest = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts);
  });
  return { proc, lines };
}

const acceptedIn = (lines: string[]): number => {
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^accepted (\d+)/.exec(lines[i]!);
    if (m) return Number(m[1]);
  }
  return 0;
};

describe.skipIf(kafka.skip || postgres.skip)(`engine killed while consuming telemetry (${kafka.reason}; ${postgres.reason})`, () => {
  it('applies every produced message exactly once after SIGKILL and restart (none lost, duplicates dropped)', async () => {
    const tag = randomUUID().slice(0, 8);
    const topic = `faults-${tag}`;
    const schema = `f_${tag}`;
    const runId = `run-${tag}`;
    const brokers = brokersFromEnv(requireUrl(kafka));
    const client = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const admin = client.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const total = 6_000;
    const assets = Array.from({ length: 20 }, (_, i) => `pw-${i}`);
    // Ids of the generated city's first assets are not known here; use the ones the child's city has.
    const { generateCity } = await import('../../engine/index.ts');
    const ids = generateCity({ assets: 100, seed: 7 }).assets.slice(0, 20).map((a) => a.id);
    assets.splice(0, assets.length, ...ids);
    const messages = Array.from({ length: total }, (_, i) => ({ key: assets[i % assets.length]!, value: JSON.stringify({ value: 1 + (i % 97) / 10, seq: i }) }));
    const bad = [{ key: assets[0]!, value: 'not json {' }, { key: 'no-such-asset', value: '{"value":1}' }, { key: assets[1]!, value: '{"value":-5}' }];
    for (let i = 0; i < total; i += 1_000) await producer.send({ topic, messages: messages.slice(i, i + 1_000) });
    await producer.send({ topic, messages: bad });
    await producer.disconnect();

    const env = { TOPIC: topic, SCHEMA: schema, RUN_ID: runId, GROUP: `g-${tag}`, EXPECT: String(total), COMMIT_DELAY_MS: '600000', STRATUM_PG_URL: requireUrl(postgres), STRATUM_KAFKA_BROKERS: requireUrl(kafka) };
    const first = startChild(env);
    // The first engine never commits (its commit delay is endless): it is killed once its first batch is
    // journalled durably, so the restart must drop that batch as duplicates.
    const durable = (lines: string[]): number => Number(/"written":(\d+)/.exec(lines[lines.length - 1] ?? '')?.[1] ?? 0);
    await waitFor('the first engine to journal part of the burst', () => durable(first.lines) > 0, 40_000);
    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));
    const killedAt = acceptedIn(first.lines);
    expect(killedAt).toBeLessThan(total);

    const second = startChild({ ...env, COMMIT_DELAY_MS: '0' });
    await waitFor('the restarted engine to finish', () => second.lines.some((l) => l.startsWith('done ')), 60_000).catch((error: unknown) => {
      second.proc.kill('SIGKILL');
      throw new Error(`${(error as Error).message}; child said: ${second.lines.slice(0, 3).join(' / ')} … ${second.lines.slice(-3).join(' / ')}`);
    });
    const done = JSON.parse(second.lines.find((l) => l.startsWith('done '))!.slice(5)) as { entries: number; duplicates: number; deadLettered: number };
    expect(second.lines[0]).toMatch(/^restored \d+/);
    expect(done.entries).toBe(total);
    if (process.env['STRATUM_DEBUG_FAULTS']) (await import('node:fs')).writeFileSync('/tmp/second.log', [...first.lines, '----', ...second.lines].join('\n'));
    const restored = Number(/^restored (\d+)/.exec(second.lines[0] ?? '')?.[1]);
    expect(restored).toBeGreaterThan(0);
    expect(done.duplicates).toBeGreaterThanOrEqual(restored);
    // Bad messages sit after the last good offset of their partition, so the restart dead-letters them again (at least once).
    expect(done.deadLettered).toBe(bad.length);

    // The durable journal holds every valid message exactly once.
    const db = new pg.Client({ connectionString: requireUrl(postgres) });
    await db.connect();
    try {
      const rows = await db.query<{ source: string; n: string; distinct_offsets: string }>(
        `SELECT source, count(*) AS n, count(DISTINCT source_seq) AS distinct_offsets FROM ${schema}.input_journal WHERE run_id = $1 GROUP BY source`, [runId]);
      const count = rows.rows.reduce((s, r) => s + Number(r.n), 0);
      expect(count).toBe(total);
      for (const r of rows.rows) expect(Number(r.distinct_offsets)).toBe(Number(r.n));
      await db.query(`DROP SCHEMA ${schema} CASCADE`);
    } finally {
      await db.end();
    }
    process.stdout.write(`[faults] killed after ${killedAt} accepted; restart restored ${restored} journal entries and dropped ${done.duplicates} duplicates, dead-lettered ${done.deadLettered}\n`);
  }, 120_000);
});
