/**
 * A twin for load tests on embedded defaults: a generated city served by `startServer` on
 * 127.0.0.1 (port 0 = a free port). Prints one JSON line `{ "url", "pid", "assets", "actors" }` on
 * stdout when it is listening, then serves until SIGTERM/SIGINT or until its stdin closes (the
 * runner holds it open, so the twin never outlives the runner).
 *
 * Env: LOAD_ASSETS (default 2000), LOAD_SEED (7), LOAD_SPEED (virtual s per wall s, default 1),
 * STRATUM_ADMIN_TOKEN, STRATUM_TOKENS (role tokens), STRATUM_RATE_LIMIT (HTTP requests/min per token);
 * with STRATUM_ADAPTERS=1 the real adapters whose URLs are set (the runner sets only
 * STRATUM_KAFKA_BROKERS and a topic of its own, STRATUM_KAFKA_TELEMETRY_TOPIC, named in the JSON line
 * as `kafkaTopic`).
 *
 *   node --import tsx load-tests/serve.ts
 */
import { generateCity, parseCity } from '../engine/index.ts';
import { startServer } from '../gateways/server.ts';

const assets = Number(process.env['LOAD_ASSETS'] ?? 2000);
const seed = Number(process.env['LOAD_SEED'] ?? 7);
const speed = Number(process.env['LOAD_SPEED'] ?? 1);
const t0 = performance.now();
const city = parseCity(generateCity({ assets, seed }), 'generated');
const server = await startServer({ city, seed, port: 0, quiet: true, speed });
const index = server.engine.index;
const kafkaTopic = process.env['STRATUM_ADAPTERS'] === '1' && process.env['STRATUM_KAFKA_BROKERS'] ? process.env['STRATUM_KAFKA_TELEMETRY_TOPIC'] ?? 'stratum.telemetry' : undefined;
process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid, assets: index.assetCount, actors: index.assetCount + index.cohortCount, startMs: Math.round(performance.now() - t0), kafkaTopic })}\n`);

let stopping = false;
const stop = async (why: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`[serve] stopping (${why})\n`);
  const force = setTimeout(() => process.exit(0), 10_000);
  force.unref();
  await server.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
process.stdin.on('end', () => void stop('stdin closed'));
process.stdin.on('error', () => void stop('stdin error'));
process.stdin.resume();
