/**
 * Companion producer for the ingest load test: telemetry at a constant arrival rate into the twin's
 * Kafka telemetry topic (k6 has no Kafka client without a custom xk6 build). Keys are asset ids
 * from the twin's `GET /api/topology`, values msgpack `{ value, seq }` — what the Kafka gateway reads.
 *
 * Bounded and self-stopping: it stops after DURATION or KAFKA_MAX_MESSAGES, whichever comes first,
 * and only talks to loopback brokers. Prints sent / acked / errors / dropped and the produce latency
 * (scheduled send time → broker ack; p50/p95/p99), plus one JSON line (`{"kafkaIngest":…}`).
 * Exit 0 when the thresholds hold, 1 when one is missed, 2 on a configuration error.
 *
 * Env:
 *   TARGET_URL (http://127.0.0.1:8080), TOKEN (any role that can read), STRATUM_KAFKA_BROKERS,
 *   KAFKA_TOPIC (stratum.telemetry), KAFKA_RATE (messages/s, 200), DURATION (1m; 90s, 1m30s),
 *   KAFKA_MAX_MESSAGES (rate × duration), KAFKA_ASSETS (first N asset ids, default all),
 *   KAFKA_P95_MS (500): produce latency p95 limit, ERROR_RATE (0.01): (errors + dropped) / scheduled,
 *   CHECK_APPLIED=1: also require the twin to report the messages applied — its /metrics counter
 *   `stratum_service_written_total{service="bus",backend="kafka-ingest"}` must rise by every acked
 *   message within KAFKA_APPLY_TIMEOUT (15s) (the twin runs with STRATUM_ADAPTERS=1).
 *
 *   node --import tsx load-tests/kafka-producer.ts      (or: npm run load -- kafka-ingest [--serve])
 */
import { Kafka, logLevel, Partitioners, type Message } from 'kafkajs';
import { pack } from 'msgpackr';

const env = process.env;
const fail = (message: string): never => {
  process.stderr.write(`[kafka-producer] ${message}\n`);
  process.exit(2);
};

/** k6-style durations: 90s, 2m, 1m30s, 500ms. */
function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new RangeError(`not a duration: "${text}" (use 90s, 2m, 1m30s)`);
  const unit: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  return parts.reduce((ms, p) => ms + Number(p[1]) * unit[p[2]!]!, 0);
}

/** The value at quantile q of an ascending array (nearest rank). */
function quantile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/;

async function main(): Promise<number> {
  const target = (env['TARGET_URL'] ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  const token = env['TOKEN'] ?? env['VIEWER_TOKENS']?.split(',')[0];
  const brokers = (env['STRATUM_KAFKA_BROKERS'] ?? '').split(',').map((b) => b.trim()).filter((b) => b !== '');
  if (brokers.length === 0) fail('STRATUM_KAFKA_BROKERS is not set (eval "$(bash infrastructure/native/all.sh start)")');
  for (const broker of brokers) {
    const host = broker.replace(/:\d+$/, '');
    if (!LOOPBACK.test(host)) fail(`broker ${broker} is not on loopback: this load generator only produces to a local broker`);
  }
  if (!LOOPBACK.test(new URL(target).hostname.replace(/^\[|\]$/g, ''))) fail(`TARGET_URL ${target} is not on loopback`);
  const topic = env['KAFKA_TOPIC'] ?? 'stratum.telemetry';
  const rate = Number(env['KAFKA_RATE'] ?? 200);
  const durationMs = parseDuration(env['DURATION'] ?? '1m');
  const maxMessages = Number(env['KAFKA_MAX_MESSAGES'] ?? Math.ceil((rate * durationMs) / 1000));
  const p95Limit = Number(env['KAFKA_P95_MS'] ?? 500);
  const errorLimit = Number(env['ERROR_RATE'] ?? 0.01);
  const checkApplied = env['CHECK_APPLIED'] === '1';
  const applyTimeoutMs = parseDuration(env['KAFKA_APPLY_TIMEOUT'] ?? '15s');
  if (!(rate > 0 && rate <= 100_000) || !(maxMessages > 0) || !(durationMs > 0)) fail('KAFKA_RATE (1–100000), DURATION and KAFKA_MAX_MESSAGES must be positive');

  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const topologyReply = await fetch(`${target}/api/topology`, { headers });
  if (!topologyReply.ok) fail(`GET ${target}/api/topology answered ${topologyReply.status} (set TOKEN)`);
  const topology = (await topologyReply.json()) as { assetCount: number; ids: string[] };
  const limit = Number(env['KAFKA_ASSETS'] ?? topology.assetCount);
  const ids = topology.ids.slice(0, Math.min(topology.assetCount, limit));
  if (ids.length === 0) fail('the twin has no assets');
  const appliedBefore = checkApplied ? await appliedCount(target) : 0;
  if (appliedBefore === undefined) fail(`CHECK_APPLIED=1 but ${target}/metrics has no kafka-ingest counter: start the twin with STRATUM_ADAPTERS=1 and STRATUM_KAFKA_BROKERS`);

  const kafka = new Kafka({ clientId: 'stratum-load-producer', brokers, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100 } });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
  await producer.connect();

  // Constant arrival rate: every tick sends what fell due since the last one, as one request, and
  // does not wait for earlier requests. Requests in flight are bounded: what cannot be sent because
  // the broker is too slow is dropped and counted (k6's dropped_iterations).
  const tickMs = 10;
  const maxInFlight = 64;
  const latencies: number[] = [];
  let scheduled = 0;
  let sent = 0;
  let acked = 0;
  let errors = 0;
  let dropped = 0;
  let inFlight = 0;
  let lastError: string | undefined;
  const start = performance.now();
  const pending = new Set<Promise<void>>();
  while (scheduled < maxMessages) {
    const elapsed = performance.now() - start;
    if (elapsed >= durationMs) break;
    const due = Math.min(maxMessages, Math.floor((elapsed * rate) / 1000) + 1);
    if (due > scheduled) {
      const first = scheduled;
      const count = due - scheduled;
      scheduled = due;
      if (inFlight >= maxInFlight) {
        dropped += count;
      } else {
        const messages: Message[] = [];
        for (let i = first; i < due; i++) {
          messages.push({ key: ids[i % ids.length]!, value: pack({ value: Math.round((1 + (i % 97) / 10) * 100) / 100, seq: i }) });
        }
        sent += count;
        inFlight++;
        const request = producer.send({ topic, messages, acks: -1 }).then(
          () => {
            const now = performance.now();
            acked += count;
            // Latency from each message's scheduled time (start + i / rate) to the ack.
            for (let i = first; i < due; i++) latencies.push(now - (start + (i * 1000) / rate));
          },
          (error: unknown) => {
            errors += count;
            lastError = (error as Error).message;
          },
        ).finally(() => {
          inFlight--;
          pending.delete(request);
        });
        pending.add(request);
      }
    }
    await new Promise((r) => setTimeout(r, tickMs));
  }
  await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 10_000))]);
  const wallS = (performance.now() - start) / 1000;
  await producer.disconnect();

  let applied: number | undefined;
  if (checkApplied) {
    const deadline = Date.now() + applyTimeoutMs;
    for (;;) {
      applied = ((await appliedCount(target)) ?? 0) - (appliedBefore ?? 0);
      if (applied >= acked || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  latencies.sort((a, b) => a - b);
  const p50 = quantile(latencies, 0.5);
  const p95 = quantile(latencies, 0.95);
  const p99 = quantile(latencies, 0.99);
  const errorRate = scheduled === 0 ? 1 : (errors + dropped) / scheduled;
  const misses: string[] = [];
  if (acked === 0) misses.push('nothing was acked');
  if (p95 === undefined || p95 > p95Limit) misses.push(`produce p95 ${p95?.toFixed(1) ?? '—'} ms > ${p95Limit} ms`);
  if (errorRate > errorLimit) misses.push(`errors + dropped ${(errorRate * 100).toFixed(2)} % > ${(errorLimit * 100).toFixed(2)} %`);
  if (checkApplied && (applied ?? 0) < acked) misses.push(`the twin applied ${applied ?? 0} of ${acked} acked messages within ${applyTimeoutMs} ms`);

  const fmt = (v: number | undefined): string => (v === undefined ? '—' : v.toFixed(1));
  process.stderr.write(
    `[kafka-producer] ${topic} on ${brokers.join(',')} → ${target}: ${ids.length} assets, target ${rate}/s for ${(durationMs / 1000).toFixed(0)} s (max ${maxMessages})\n` +
    `[kafka-producer] scheduled ${scheduled}, sent ${sent}, acked ${acked}, errors ${errors}, dropped ${dropped} (${(acked / wallS).toFixed(1)} acked/s)` +
    `${applied === undefined ? '' : `, applied by the twin ${applied}`}\n` +
    `[kafka-producer] produce latency p50 ${fmt(p50)} / p95 ${fmt(p95)} / p99 ${fmt(p99)} ms${lastError === undefined ? '' : `; last error: ${lastError}`}\n` +
    `[kafka-producer] ${misses.length === 0 ? 'thresholds passed' : `THRESHOLDS MISSED: ${misses.join('; ')}`}\n`,
  );
  const summary = { topic, rate, scheduled, sent, acked, errors, dropped, ackedPerS: Math.round(acked / wallS), p50Ms: p50, p95Ms: p95, p99Ms: p99, ...(applied === undefined ? {} : { applied }), passed: misses.length === 0 };
  process.stdout.write(`${JSON.stringify({ kafkaIngest: summary })}\n`);
  return misses.length === 0 ? 0 : 1;
}

/** The twin's count of Kafka telemetry and commands applied (undefined: it runs without the Kafka adapter). */
async function appliedCount(target: string): Promise<number | undefined> {
  const text = await (await fetch(`${target}/metrics`)).text();
  const match = /^stratum_service_written_total\{service="bus",backend="kafka-ingest"\} (\d+(?:\.\d+)?(?:e\+?\d+)?)$/m.exec(text);
  return match === null ? undefined : Number(match[1]);
}

process.exitCode = await main();
