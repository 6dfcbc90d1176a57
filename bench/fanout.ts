import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { StudyCity, runStudy, type StudyOptions } from '../actors/index.ts';
import { fork, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { fileURLToPath } from 'node:url';
import { generateCity, loadCityFile, parseCity, type CityModel } from '../engine/index.ts';
import { startGateway } from '../gateways/gateway-server.ts';
import { startServerWith, type ServerInternals } from '../gateways/server.ts';
import type { FanoutSettings } from '../gateways/stream/index.ts';
import { measureInjectToDelta, percentile, round } from './streaming.ts';
import { runStudyOnKafka } from '../gateways/adapters/study-kafka.ts';
import { spawnStudyWorker, stopProcess, type WorkerProcess } from '../gateways/adapters/study-worker-process.ts';

/**
 * `npm run bench -- --only fanout`: the three figures of issue 17.
 *
 * - `fanoutP99RatioVsSingle`: injection → first delta p99 with 500 viewers spread over 3 gateway
 *   processes (`--role gateway`, fed by this process as the engine through Redis Streams) divided by
 *   the p99 of 500 viewers on the single process, measured one after the other in the same run with
 *   the same city and the same injections (bench/streaming.ts `measureInjectToDelta`). Target ≤ 1.5.
 * - `viewersPerGatewayAtP99Under50ms`: the most viewers one gateway process served, of the steps
 *   tried, with that p99 ≤ 50 ms.
 * - `monteCarloTwoWorkerScaling`: runs/s of one study over Kafka on loopback with 2 `stratum worker`
 *   processes over 1 (2.0 would be perfect); the same study runs in this process first.
 *
 * The fan-out figures need `STRATUM_REDIS_URL` and a quiet machine (1-minute load < 3; otherwise they
 * read "not measured quietly"): gateways, engine and viewer processes share the cores.
 */

export async function runFanoutBench(args: { quick: boolean; log: (line: string) => void }): Promise<Record<string, number | string>> {
  const viewers = await runViewerFanout(args);
  const monteCarlo = await runMonteCarloScaling(args);
  return { ...viewers, ...monteCarlo };
}

async function runMonteCarloScaling(args: { quick: boolean; log: (line: string) => void }): Promise<Record<string, number | string>> {
  const brokers = process.env['STRATUM_KAFKA_BROKERS'];
  if (brokers === undefined || brokers === '') {
    return { monteCarloTwoWorkerScaling: 'not measured: STRATUM_KAFKA_BROKERS not set (eval "$(infrastructure/native/all.sh start)")' };
  }
  const dir = mkdtempSync(join(tmpdir(), 'stratum-bench-fanout-'));
  try {
    const cityFile = join(dir, 'city.json');
    const assets = args.quick ? 600 : 1500;
    writeFileSync(cityFile, JSON.stringify(generateCity({ assets, seed: 3 })));
    const cityText = readFileSync(cityFile, 'utf8');
    const study = new StudyCity(loadCityFile(cityFile));
    const runs = args.quick ? 60 : 240;
    const options: StudyOptions = { model: 'motter-lai', attack: { kind: 'random', count: 1 }, runs, seed: 5 };
    args.log(`  study: motter-lai, random attack, ${runs} runs on a generated city of ${assets} assets; Kafka at ${brokers}`);

    let started = performance.now();
    const local = await runStudy(study, options);
    const localRunsPerSecond = runs / ((performance.now() - started) / 1000);

    const measure = async (count: number): Promise<number> => {
      const topic = `stratum.bench-studies.${randomUUID()}`;
      const group = `stratum-bench-workers-${randomUUID()}`;
      const workers: WorkerProcess[] = [];
      try {
        for (let w = 0; w < count; w++) workers.push(await spawnStudyWorker({ brokers, topic, group, name: `bench-${count}-${w}` }));
        // The last join makes the group rebalance; let it settle so the study starts on a stable group.
        await new Promise((r) => setTimeout(r, 4_000));
        started = performance.now();
        const result = await runStudyOnKafka(study, cityText, options, { brokers: brokers.split(','), topic });
        const seconds = (performance.now() - started) / 1000;
        if (JSON.stringify(result) !== JSON.stringify(local)) throw new Error(`the study over Kafka with ${count} worker(s) differs from the local one`);
        return runs / seconds;
      } finally {
        await Promise.all(workers.map((w) => stopProcess(w.child)));
      }
    };
    const loadBefore = loadavg()[0]!;
    const one = await measure(1);
    const two = await measure(2);
    return {
      // Other processes on the machine take cores from the workers: the ratio means little when this is high.
      monteCarloLoadAverage1m: `${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`,
      monteCarloLocalRunsPerSecond: Math.round(localRunsPerSecond * 10) / 10,
      monteCarloOneWorkerRunsPerSecond: Math.round(one * 10) / 10,
      monteCarloTwoWorkerRunsPerSecond: Math.round(two * 10) / 10,
      monteCarloTwoWorkerScaling: Math.round((two / one) * 100) / 100,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A gateway process of the bench (this file run with `--gateway`), as `stratum start --role gateway` runs it but with socket limits off. */
async function spawnGateway(engineUrl: string, fanout: FanoutSettings, token: string): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(fileURLToPath(import.meta.url), ['--gateway', engineUrl, fanout.redisUrl, fanout.prefix, token], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('a bench gateway did not start within 60 s')), 60_000);
    child.once('message', (m: { url?: string; error?: string }) => {
      clearTimeout(timer);
      if (m.url !== undefined) resolve(m.url);
      else reject(new Error(`bench gateway: ${m.error}`));
    });
    child.once('exit', (code) => reject(new Error(`bench gateway exited ${code}`)));
  });
  return { child, url };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** The engine in this process (as `start --role engine` with a fan-out, or as the single process without). */
function startEngine(city: CityModel, token: string, fanout?: FanoutSettings): Promise<ServerInternals> {
  return startServerWith(
    { city, seed: 11, port: 0, quiet: true, speed: 10, adminToken: token, uiDir: false, dataDir: false, ...(fanout === undefined ? {} : { fanout }) },
    { rateLimitPerMinute: 1_000_000, eventsPerSecond: 1_000_000, env: {} },
  );
}

/** `sizes` and `ignoreLoad` are for a functional check of the bench itself (scratch runs), not for figures. */
export async function runViewerFanout(args: { quick: boolean; log: (line: string) => void }, sizes?: { assets: number; viewers: number; injections: number; steps: number[]; ignoreLoad?: boolean }): Promise<Record<string, number | string>> {
  const redisUrl = process.env['STRATUM_REDIS_URL'];
  if (redisUrl === undefined || redisUrl === '') {
    const reason = 'not measured: STRATUM_REDIS_URL not set (eval "$(infrastructure/native/all.sh start)")';
    return { fanoutP99RatioVsSingle: reason, viewersPerGatewayAtP99Under50ms: reason };
  }
  const load = loadavg()[0]!;
  if (load >= 3 && sizes?.ignoreLoad !== true) {
    const reason = `not measured quietly: 1-minute load average ${load.toFixed(1)} ≥ 3`;
    return { fanoutP99RatioVsSingle: reason, viewersPerGatewayAtP99Under50ms: reason };
  }
  const assets = sizes?.assets ?? (args.quick ? 5_000 : 20_000);
  const viewers = sizes?.viewers ?? (args.quick ? 100 : 500);
  const injections = sizes?.injections ?? (args.quick ? 15 : 40);
  const city = parseCity(generateCity({ assets, seed: 11 }), 'generated');
  const token = `bench-${randomUUID()}`;
  const fanout: FanoutSettings = { redisUrl, prefix: `stratum-bench:${randomUUID()}`, maxLen: 1024 };
  args.log(`  viewers: ${viewers} on a generated city of ${assets} assets, ${injections} measured injections per configuration; Redis at ${redisUrl}`);

  // 1. The single process.
  let server = await startEngine(city, token);
  let single: number;
  try {
    const m = await measureInjectToDelta({ engine: server.engine, injectUrl: server.url, token, viewerUrls: [server.url], viewers, injections, quick: args.quick });
    single = percentile(m.latencies, 99);
    args.log(`  single process: p50 ${round(percentile(m.latencies, 50))} ms, p99 ${round(single)} ms (${m.connected} viewers, ${m.missed} injections missed)`);
  } finally {
    await server.close();
  }

  // 2. The engine here, three gateway processes, the viewers spread over them.
  server = await startEngine(city, token, fanout);
  let spread: number;
  let gateways: { child: ChildProcess; url: string }[] = [];
  try {
    gateways = await Promise.all([0, 1, 2].map(() => spawnGateway(server.url, fanout, token)));
    const m = await measureInjectToDelta({ engine: server.engine, injectUrl: server.url, token, viewerUrls: gateways.map((g) => g.url), viewers, injections, quick: args.quick });
    spread = percentile(m.latencies, 99);
    args.log(`  3 gateways: p50 ${round(percentile(m.latencies, 50))} ms, p99 ${round(spread)} ms (${m.connected} viewers, ${m.missed} injections missed)`);
  } finally {
    await Promise.all(gateways.map((g) => stopChild(g.child)));
    gateways = [];
    await server.close();
  }

  // 3. One gateway, more and more viewers, until p99 passes 50 ms.
  const steps = sizes?.steps ?? (args.quick ? [50, 100, 200] : [250, 500, 1000, 1500, 2000]);
  let held = 0;
  const stepFigures: string[] = [];
  server = await startEngine(city, token, fanout);
  try {
    const gateway = await spawnGateway(server.url, fanout, token);
    gateways = [gateway];
    for (const count of steps) {
      const m = await measureInjectToDelta({ engine: server.engine, injectUrl: server.url, token, viewerUrls: [gateway.url], viewers: count, injections: sizes?.injections ?? (args.quick ? 10 : 20), quick: args.quick });
      const p99 = percentile(m.latencies, 99);
      stepFigures.push(`${count}: ${round(p99)} ms`);
      args.log(`  one gateway, ${count} viewers: p99 ${round(p99)} ms`);
      if (!(p99 <= 50) || m.missed > 0) break;
      held = count;
    }
  } finally {
    await Promise.all(gateways.map((g) => stopChild(g.child)));
    await server.close();
  }
  // The bench's keys go with it (the Redis may be shared).
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${fanout.prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  return {
    fanoutAssets: assets,
    fanoutViewers: viewers,
    fanoutLoadAverage1m: `${load.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`,
    fanoutSingleP99Ms: round(single),
    fanoutThreeGatewaysP99Ms: round(spread),
    fanoutP99RatioVsSingle: round(spread / single),
    viewersPerGatewaySteps: stepFigures.join(', '),
    viewersPerGatewayAtP99Under50ms: held === 0 ? `fewer than ${steps[0]}` : held,
  };
}

const self = fileURLToPath(import.meta.url);
if (process.argv[1] === self && process.argv[2] === '--gateway') {
  const [engineUrl, redisUrl, prefix, token] = process.argv.slice(3) as [string, string, string, string];
  startGateway({ engineUrl, fanout: { redisUrl, prefix, maxLen: 1024 }, port: 0, host: '127.0.0.1', uiDir: false, quiet: true, eventsPerSecond: 1_000_000, env: { STRATUM_ADMIN_TOKEN: token } }).then(
    (gateway) => {
      process.send?.({ url: gateway.url });
      process.once('SIGTERM', () => void gateway.close().then(() => process.exit(0)));
    },
    (error: Error) => {
      process.send?.({ error: error.message });
      process.exit(1);
    },
  );
}
