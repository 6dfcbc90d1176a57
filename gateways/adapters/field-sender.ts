import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type { FieldRun } from '../../engine/index.ts';

/** How a field run's readings reach a twin: the running server's HTTP door, or the Kafka telemetry topic. */
export type FieldTarget =
  | { readonly kind: 'http'; readonly url: string; readonly token: string; readonly concurrency?: number }
  | { readonly kind: 'kafka'; readonly brokers: readonly string[]; readonly topic: string };

export interface SendOptions {
  /**
   * Wall seconds per simulated second: each reading leaves at start + arrivesAt × pace (its scan
   * time plus the sensor's latency). 0 sends everything as fast as the transport takes it.
   */
  readonly pace: number;
  /** Stops early (wall clock) — a test or an operator ending the run. */
  readonly signal?: AbortSignal;
}

export interface SendReport {
  readonly sent: number;
  readonly refused: number;
  /** The first refusal's status and message (for the operator; the rest are counted). */
  readonly firstRefusal: string | null;
  readonly seconds: number;
}

/** Readings sent together (one Kafka batch, or HTTP requests in flight at once) when several are due. */
const BATCH = 500;

/**
 * Sends a field run's readings (the `scada` sensor set: asset telemetry, values ≥ 0) in arrival
 * order, paced by the wall clock. HTTP: one `POST /api/inject` per reading (`{type: telemetry,
 * target, value}`, the bearer token needs the inject right), `concurrency` in flight (default 16).
 * Kafka: keyed by the asset id with `{"value": x}` on the telemetry topic (the server's Kafka ingest
 * reads it, STRATUM_ADAPTERS=1). A refused reading is counted, not retried: a field device does not
 * resend a reading the control centre refused.
 */
export async function sendField(run: FieldRun, target: FieldTarget, options: SendOptions): Promise<SendReport> {
  for (const r of run.readings) {
    const kind = run.sensors[r.sensor]!.kind;
    if (kind === 'injection' || kind === 'angle') throw new RangeError(`the live twin takes asset telemetry: run the field simulator with the scada sensor set (a ${kind} sensor is not an asset reading)`);
  }
  const started = performance.now();
  let sent = 0;
  let refused = 0;
  let firstRefusal: string | null = null;
  const refuse = (why: string): void => {
    refused++;
    firstRefusal ??= why;
  };
  const transport = target.kind === 'http' ? httpTransport(target, refuse) : await kafkaTransport(target);
  try {
    let i = 0;
    while (i < run.readings.length && options.signal?.aborted !== true) {
      const dueMs = run.readings[i]!.arrivesAtS * options.pace * 1000;
      const wait = dueMs - (performance.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      // Everything due by now goes in one batch.
      const now = performance.now() - started;
      let end = i + 1;
      while (end < run.readings.length && end - i < BATCH && run.readings[end]!.arrivesAtS * options.pace * 1000 <= now) end++;
      const batch = run.readings.slice(i, end).map((r) => ({ target: run.sensors[r.sensor]!.target, value: r.value }));
      sent += await transport.send(batch);
      i = end;
    }
  } finally {
    await transport.close();
  }
  return { sent, refused, firstRefusal, seconds: (performance.now() - started) / 1000 };
}

interface Transport {
  /** Sends the readings; returns how many were accepted. */
  send(readings: ReadonlyArray<{ target: string; value: number }>): Promise<number>;
  close(): Promise<void>;
}

function httpTransport(target: Extract<FieldTarget, { kind: 'http' }>, refuse: (why: string) => void): Transport {
  const url = `${target.url.replace(/\/$/, '')}/api/inject`;
  const concurrency = target.concurrency ?? 16;
  const post = async (r: { target: string; value: number }): Promise<boolean> => {
    try {
      const reply = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'telemetry', target: r.target, value: r.value }),
      });
      if (reply.status === 202) {
        await reply.arrayBuffer();
        return true;
      }
      refuse(`${r.target}: HTTP ${reply.status} ${(await reply.text()).slice(0, 200)}`);
    } catch (error) {
      refuse(`${r.target}: ${(error as Error).message}`);
    }
    return false;
  };
  return {
    async send(readings) {
      let ok = 0;
      for (let i = 0; i < readings.length; i += concurrency) {
        const results = await Promise.all(readings.slice(i, i + concurrency).map(post));
        ok += results.filter(Boolean).length;
      }
      return ok;
    },
    close: async () => undefined,
  };
}

async function kafkaTransport(target: Extract<FieldTarget, { kind: 'kafka' }>): Promise<Transport> {
  const producer = new Kafka({ brokers: [...target.brokers], clientId: 'stratum-field', logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  try {
    await producer.connect();
  } catch (error) {
    throw new RangeError(`--kafka: cannot connect to ${target.brokers.join(',')}: ${(error as Error).message}`, { cause: error });
  }
  return {
    async send(readings) {
      await producer.send({ topic: target.topic, messages: readings.map((r) => ({ key: r.target, value: JSON.stringify({ value: r.value }) })) });
      return readings.length;
    },
    close: () => producer.disconnect(),
  };
}
