#!/usr/bin/env node
// Load tests with k6 (load-tests/). Starts nothing by surprise:
//
//   npm run load -- <script> [k6 args]      run one script (viewers, ws-consumers, ingest, injectors,
//                                           exercise-day, or a path) against TARGET_URL with TOKEN…
//   npm run load -- <script> --serve [--assets N] [--speed X] [k6 args]
//                                           start a local twin (load-tests/serve.ts) first, run the
//                                           script against it with role tokens, sample the twin's CPU
//                                           and RSS with ps, print a result row, stop the twin
//   npm run load:build                      bundle gateways/protocol.ts for k6 (load-tests/lib/protocol.bundle.js;
//                                           the two commands here do it themselves before k6 starts)
//   npm run load:smoke                      every script briefly at small load against a local twin;
//                                           exit 1 when any threshold fails. With STRATUM_KAFKA_BROKERS
//                                           the twin also runs the Kafka adapter and the smoke adds
//                                           kafka-ingest (and checks the twin applied the messages)
//   npm run load -- kafka-ingest [--serve]  telemetry into the twin's Kafka topic at a constant rate
//                                           (load-tests/kafka-producer.ts: k6 has no Kafka client)
//
// k6: `k6` on PATH, else the cached build ($STRATUM_CACHE/bin/k6), else built from its Go module by
// infrastructure/k6/build.sh when Go is available, else a message saying what to install.
/* global setTimeout, clearTimeout, setInterval, clearInterval */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProtocolBundle } from './load-build.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const testsDir = join(root, 'load-tests');
const SCRIPTS = ['viewers', 'ws-consumers', 'ingest', 'injectors', 'exercise-day'];
/** Not a k6 script: the Node companion producer for the Kafka topic. */
const KAFKA_INGEST = 'kafka-ingest';
const K6_VERSION = process.env.K6_VERSION ?? 'v1.8.1';

const log = (msg) => process.stderr.write(`[load] ${msg}\n`);

function onPath(cmd) {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir !== '' && existsSync(join(dir, cmd))) return join(dir, cmd);
  return undefined;
}

/** The k6 binary, built once if needed; exits with instructions when it cannot be had. */
function findK6() {
  if (process.env.K6_BIN) return process.env.K6_BIN;
  const path = onPath('k6');
  if (path) return path;
  const cached = join(process.env.STRATUM_CACHE ?? join(homedir(), '.cache', 'stratum'), 'bin', 'k6');
  const go = onPath('go') ?? ['/usr/local/go/bin/go', '/usr/lib/go/bin/go'].find((g) => existsSync(g));
  if (existsSync(cached) || go) {
    if (!existsSync(cached)) log(`k6 not found; building k6 ${K6_VERSION} from its Go module with ${go} (first build takes ~3 minutes, then cached)`);
    const r = spawnSync('bash', [join(root, 'infrastructure/k6/build.sh')], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', env: { ...process.env, K6_VERSION } });
    const bin = r.stdout.trim().split('\n').pop();
    if (r.status === 0 && bin && existsSync(bin)) return bin;
    log('infrastructure/k6/build.sh failed (see above)');
    process.exit(2);
  }
  log(`k6 is not installed and Go is not available to build it. Either
  - install k6 ${K6_VERSION}: a release binary from https://github.com/grafana/k6/releases/tag/${K6_VERSION}
    (k6-${K6_VERSION}-linux-amd64.tar.gz, put "k6" on PATH) or Grafana's package (https://grafana.com/docs/k6/latest/set-up/install-k6/), or
  - install Go >= 1.25 (https://go.dev/dl/, into /usr/local/go) and run this again: it builds k6 with
    "go install go.k6.io/k6@${K6_VERSION}" into $STRATUM_CACHE/bin (default ~/.cache/stratum/bin), or
  - set K6_BIN to a k6 binary.`);
  process.exit(2);
}

function scriptPath(name) {
  const candidates = [name, join(testsDir, name), join(testsDir, `${name}.js`)];
  const found = candidates.find((p) => existsSync(p) && p.endsWith('.js'));
  if (!found) {
    log(`no load script "${name}"; scripts: ${SCRIPTS.join(', ')} (or a path to a .js file)`);
    process.exit(2);
  }
  return resolve(found);
}

/** Role tokens for a local twin: STRATUM_TOKENS for the server, token pools for k6. */
function makeTokens() {
  const t = () => `lt-${randomBytes(12).toString('base64url')}`;
  const pools = { viewer: [], injector: [], operator: [] };
  const spec = [];
  for (const [role, n] of [['viewer', 8], ['injector', 8], ['operator', 4]]) {
    for (let i = 0; i < n; i++) {
      const token = t();
      pools[role].push(token);
      spec.push(`load-${role}-${i}:${role}:${token}`);
    }
  }
  return { admin: t(), spec: spec.join(','), pools };
}

/**
 * Env for a twin that consumes Kafka (STRATUM_ADAPTERS=1, Kafka only): its own telemetry and commands
 * topics and consumer group, so earlier runs' messages on the shared topics never reach it.
 */
function kafkaTwinEnv() {
  const tag = randomBytes(4).toString('hex');
  return {
    STRATUM_ADAPTERS: '1',
    STRATUM_PG_URL: '',
    STRATUM_REDIS_URL: '',
    STRATUM_KAFKA_TELEMETRY_TOPIC: `stratum.telemetry.load-${tag}`,
    STRATUM_KAFKA_COMMANDS_TOPIC: `stratum.commands.load-${tag}`,
    STRATUM_KAFKA_GROUP: `stratum-load-${tag}`,
  };
}

/** Starts load-tests/serve.ts; resolves when it prints its URL. */
function startTwin({ assets, speed, tokens, kafka = false }) {
  const env = { ...process.env, LOAD_ASSETS: String(assets), LOAD_SPEED: String(speed), STRATUM_ADMIN_TOKEN: tokens.admin, STRATUM_TOKENS: tokens.spec, ...(kafka ? kafkaTwinEnv() : {}) };
  const child = spawn(process.execPath, ['--max-old-space-size=8192', '--import', 'tsx', join(testsDir, 'serve.ts')], { cwd: root, env, stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolveStart, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error('the twin did not start within 180 s')), 180_000);
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        const info = JSON.parse(buffer.slice(0, nl));
        resolveStart({ ...info, child, stop: () => stopTwin(child) });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the twin exited with ${code} before it was ready`));
    });
  });
}

function stopTwin(child) {
  return new Promise((done) => {
    if (child.exitCode !== null) return done();
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', () => {
      clearTimeout(kill);
      done();
    });
    child.stdin.end();
    child.kill('SIGTERM');
  });
}

/** Samples a process's cumulative CPU time and RSS with ps every `ms`. */
function sampler(pid, ms = 2000) {
  // ps gives RSS and whole-second CPU time; /proc/<pid>/stat (Linux) gives CPU in clock ticks.
  const ticks = () => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return undefined;
    }
  };
  const read = () => {
    try {
      const [times, rss] = execFileSync('ps', ['-o', 'times=,rss=', '-p', String(pid)], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
      return { at: Date.now(), cpuS: ticks() ?? times, rssKiB: rss };
    } catch {
      return undefined;
    }
  };
  const samples = [];
  const first = read();
  if (first) samples.push(first);
  const timer = setInterval(() => {
    const s = read();
    if (s) samples.push(s);
  }, ms);
  return {
    stop() {
      clearInterval(timer);
      const last = read();
      if (last) samples.push(last);
      if (samples.length < 2) return undefined;
      const a = samples[0];
      const z = samples[samples.length - 1];
      let peak = 0;
      for (let i = 1; i < samples.length; i++) peak = Math.max(peak, (samples[i].cpuS - samples[i - 1].cpuS) / ((samples[i].at - samples[i - 1].at) / 1000));
      const rss = samples.map((s) => s.rssKiB / 1024);
      return {
        cpuAvgPct: Math.round(((z.cpuS - a.cpuS) / ((z.at - a.at) / 1000)) * 100),
        cpuPeakPct: Math.round(peak * 100),
        rssStartMiB: Math.round(rss[0]),
        rssMaxMiB: Math.round(Math.max(...rss)),
        rssEndMiB: Math.round(rss[rss.length - 1]),
      };
    },
  };
}

/** Runs k6; resolves with its exit code and the exported summary. */
function runK6(k6, script, args, env, hardLimitS) {
  const out = join(tmpdir(), 'stratum-load');
  mkdirSync(out, { recursive: true });
  const summary = join(out, `${script.split('/').pop().replace(/\.js$/, '')}-${process.pid}-${Date.now()}.json`);
  const argv = ['run', '--no-usage-report', '--summary-export', summary, ...args, script];
  log(`k6 ${argv.filter((a) => !a.startsWith('--summary-export') && a !== summary).join(' ')}`);
  const child = spawn(k6, argv, { cwd: root, stdio: 'inherit', env: { ...process.env, K6_NO_USAGE_REPORT: 'true', ...env } });
  return new Promise((done) => {
    const kill = hardLimitS > 0 ? setTimeout(() => {
      log(`k6 still running after ${hardLimitS} s: stopping it`);
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, hardLimitS * 1000) : undefined;
    child.on('exit', (code, signal) => {
      if (kill) clearTimeout(kill);
      let metrics;
      try {
        metrics = JSON.parse(readFileSync(summary, 'utf8')).metrics;
      } catch {
        metrics = undefined;
      }
      done({ code: code ?? (signal ? 128 : 1), metrics });
    });
  });
}

/** Runs load-tests/kafka-producer.ts; resolves with its exit code and its JSON summary. */
function runProducer(env, hardLimitS) {
  log(`kafka-producer ${['KAFKA_TOPIC', 'KAFKA_RATE', 'DURATION', 'CHECK_APPLIED'].map((k) => `${k}=${env[k] ?? process.env[k] ?? '(default)'}`).join(' ')}`);
  const child = spawn(process.execPath, ['--import', 'tsx', join(testsDir, 'kafka-producer.ts')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  return new Promise((done) => {
    const kill = hardLimitS > 0 ? setTimeout(() => child.kill('SIGKILL'), hardLimitS * 1000) : undefined;
    child.on('exit', (code, signal) => {
      if (kill) clearTimeout(kill);
      const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{"kafkaIngest"'));
      done({ code: code ?? (signal ? 128 : 1), summary: line ? JSON.parse(line).kafkaIngest : undefined });
    });
  });
}

const metric = (metrics, name, stat) => {
  const v = metrics?.[name]?.[stat];
  return typeof v === 'number' ? v : undefined;
};
const fmt = (v, digits = 0) => (v === undefined ? '—' : v.toFixed(digits));

/** One result row from a k6 summary. */
function row(metrics) {
  return {
    frames: metric(metrics, 'stratum_frames', 'count'),
    framesPerS: metric(metrics, 'stratum_frames', 'rate'),
    bytesPerS: metric(metrics, 'stratum_frame_bytes', 'rate'),
    snapshotP95: metric(metrics, 'stratum_snapshot_ms', 'p(95)'),
    latencyP95: metric(metrics, 'stratum_inject_to_delta_ms', 'p(95)'),
    latencyP99: metric(metrics, 'stratum_inject_to_delta_ms', 'p(99)'),
    probes: metric(metrics, 'stratum_probes_seen', 'count'),
    behindMax: metric(metrics, 'stratum_frames_behind', 'max'),
    httpP95: metric(metrics, 'http_req_duration{kind:input}', 'p(95)') ?? metric(metrics, 'http_req_duration', 'p(95)'),
    httpP99: metric(metrics, 'http_req_duration{kind:input}', 'p(99)') ?? metric(metrics, 'http_req_duration', 'p(99)'),
    inputs: metric(metrics, 'stratum_inputs_accepted', 'count'),
    errorRate: metric(metrics, 'stratum_errors', 'value') ?? metric(metrics, 'stratum_errors', 'rate'),
  };
}

function parseFlags(argv) {
  const rest = [];
  const flags = { serve: false, assets: 2000, speed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--serve') flags.serve = true;
    else if (a === '--assets') flags.assets = Number(argv[++i]);
    else if (a === '--speed') flags.speed = Number(argv[++i]);
    else rest.push(a);
  }
  if (!(flags.assets > 0) || !(flags.speed > 0)) {
    log('--assets and --speed take positive numbers');
    process.exit(2);
  }
  return { flags, rest };
}

function tokenEnv(tokens) {
  return { VIEWER_TOKENS: tokens.pools.viewer.join(','), INJECTOR_TOKENS: tokens.pools.injector.join(','), OPERATOR_TOKENS: tokens.pools.operator.join(',') };
}

async function smoke() {
  const started = Date.now();
  const k6 = findK6();
  await buildProtocolBundle();
  const tokens = makeTokens();
  const assets = Number(process.env.LOAD_ASSETS ?? 2000);
  // Where Kafka is up the twin consumes it too, and the smoke ends with the companion producer.
  const kafka = Boolean(process.env.STRATUM_KAFKA_BROKERS);
  log(`starting a twin with ${assets} assets on 127.0.0.1${kafka ? ' with the Kafka adapter' : ' (no STRATUM_KAFKA_BROKERS: kafka-ingest skipped)'}`);
  const twin = await startTwin({ assets, speed: 1, tokens, kafka });
  log(`twin at ${twin.url} (pid ${twin.pid}, ${twin.actors} actors, ready in ${twin.startMs} ms)`);
  const small = { TARGET_URL: twin.url, ...tokenEnv(tokens), DURATION: '10s', RAMP: '2s', VIEWERS: '4', WS_CONSUMERS: '3', INGEST_RATE: '10', INJECT_RATE: '2', OPERATOR_RATE: '1', PROBE_VUS: '1', PROBE_INTERVAL: '1s', SAMPLE: '200' };
  const plan = [
    ['viewers', {}],
    ['ws-consumers', {}],
    ['ingest', {}],
    ['injectors', {}],
    ['exercise-day', { DURATION: '15s', VIEWERS: '3', WS_CONSUMERS: '2', INGEST_RATE: '5', INJECT_RATE: '1', OPERATOR_RATE: '1' }],
  ];
  const results = [];
  const sample = sampler(twin.pid);
  try {
    for (const [name, extra] of plan) {
      const t0 = Date.now();
      const { code, metrics } = await runK6(k6, scriptPath(name), ['--quiet'], { ...small, ...extra, ...pickEnvOverrides() }, 120);
      results.push({ name, code, seconds: Math.round((Date.now() - t0) / 1000), ...row(metrics) });
    }
    if (kafka) {
      const t0 = Date.now();
      const { code, summary } = await runProducer({ TARGET_URL: twin.url, TOKEN: tokens.pools.viewer[0], KAFKA_TOPIC: twin.kafkaTopic, KAFKA_RATE: '50', DURATION: '10s', CHECK_APPLIED: '1', ...pickEnvOverrides() }, 120);
      results.push({
        name: KAFKA_INGEST, code, seconds: Math.round((Date.now() - t0) / 1000), httpP95: summary?.p95Ms, inputs: summary?.applied ?? summary?.acked,
        errorRate: summary === undefined || summary.scheduled === 0 ? undefined : (summary.errors + summary.dropped) / summary.scheduled,
      });
    }
  } finally {
    const usage = sample.stop();
    await twin.stop();
    const total = Math.round((Date.now() - started) / 1000);
    console.log('\nload smoke (thresholds: exit 99 = a threshold failed; kafka-ingest: exit 1, input p95 = produce latency, inputs = applied by the twin)');
    console.log('| script | exit | s | frames/s | snapshot p95 ms | inject→delta p99 ms | input p95 ms | inputs | errors |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of results) {
      console.log(`| ${r.name} | ${r.code} | ${r.seconds} | ${fmt(r.framesPerS, 1)} | ${fmt(r.snapshotP95)} | ${fmt(r.latencyP99)} | ${fmt(r.httpP95)} | ${fmt(r.inputs)} | ${r.errorRate === undefined ? '—' : `${(r.errorRate * 100).toFixed(2)}%`} |`);
    }
    if (usage) console.log(`twin: CPU avg ${usage.cpuAvgPct}% (peak ${usage.cpuPeakPct}%), RSS ${usage.rssStartMiB}→${usage.rssEndMiB} MiB (max ${usage.rssMaxMiB})`);
    console.log(`smoke took ${total} s`);
  }
  const failed = results.filter((r) => r.code !== 0);
  if (failed.length > 0 || results.length < plan.length + (kafka ? 1 : 0)) {
    log(`FAILED: ${failed.map((r) => `${r.name} (exit ${r.code})`).join(', ') || 'incomplete'}`);
    process.exit(1);
  }
}

/** LOAD_SMOKE_* env variables override the smoke's small settings (LOAD_SMOKE_VIEWERS=8 …). */
function pickEnvOverrides() {
  const out = {};
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('LOAD_SMOKE_') && v !== undefined) out[k.slice('LOAD_SMOKE_'.length)] = v;
  return out;
}

async function one(argv) {
  const { flags, rest } = parseFlags(argv);
  const [name, ...k6args] = rest;
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(`usage: npm run load -- <script> [--serve [--assets N] [--speed X]] [k6 args]
scripts: ${SCRIPTS.join(', ')} (load-tests/<name>.js) or a path; ${KAFKA_INGEST} (Node producer, needs STRATUM_KAFKA_BROKERS)
without --serve: runs against TARGET_URL (default http://127.0.0.1:8080) with TOKEN or role token pools
see load-tests/README.md for the env options and thresholds`);
    process.exit(name === undefined ? 2 : 0);
  }
  if (name === KAFKA_INGEST) return kafkaIngest(flags, k6args);
  const script = scriptPath(name);
  const k6 = findK6();
  await buildProtocolBundle();
  if (!flags.serve) {
    const { code } = await runK6(k6, script, k6args, {}, 0);
    process.exit(code);
  }
  const tokens = makeTokens();
  log(`starting a twin with ${flags.assets} assets at speed ${flags.speed} on 127.0.0.1`);
  const twin = await startTwin({ assets: flags.assets, speed: flags.speed, tokens });
  log(`twin at ${twin.url} (pid ${twin.pid}, ${twin.actors} actors, ready in ${twin.startMs} ms)`);
  const sample = sampler(twin.pid);
  let result;
  try {
    result = await runK6(k6, script, k6args, { TARGET_URL: twin.url, ...tokenEnv(tokens) }, 0);
  } finally {
    const usage = sample.stop();
    await twin.stop();
    const r = result ? row(result.metrics) : {};
    const envArg = (key) => {
      for (let i = 0; i < k6args.length; i++) {
        const a = k6args[i] === '-e' || k6args[i] === '--env' ? k6args[i + 1] : k6args[i].startsWith('--env=') ? k6args[i].slice(6) : undefined;
        if (a?.startsWith(`${key}=`)) return a.slice(key.length + 1);
      }
      return process.env[key];
    };
    const viewers = `${envArg('VIEWERS') ?? '10'} sio + ${envArg('WS_CONSUMERS') ?? (name === 'viewers' ? '0' : '5')} ws`;
    console.log('\n| date | script | assets | viewers | frames/s delivered | MB/s | snapshot p95 ms | inject→delta p95 / p99 ms | input p95 / p99 ms | max frames behind | twin CPU avg / peak | twin RSS start → end (max) | exit |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    console.log(`| ${new Date().toISOString().slice(0, 10)} | ${name} | ${twin.assets} | ${viewers} | ${fmt(r.framesPerS, 1)} | ${fmt(r.bytesPerS === undefined ? undefined : r.bytesPerS / 1e6, 2)} | ${fmt(r.snapshotP95)} | ${fmt(r.latencyP95)} / ${fmt(r.latencyP99)} | ${fmt(r.httpP95)} / ${fmt(r.httpP99)} | ${fmt(r.behindMax)} | ${usage ? `${usage.cpuAvgPct}% / ${usage.cpuPeakPct}%` : '—'} | ${usage ? `${usage.rssStartMiB} → ${usage.rssEndMiB} (${usage.rssMaxMiB}) MiB` : '—'} | ${result?.code ?? '—'} |`);
  }
  process.exit(result.code);
}

/**
 * `npm run load -- kafka-ingest [--serve]`: the companion producer. Against TARGET_URL it produces to
 * KAFKA_TOPIC (default stratum.telemetry, the twin's default); with --serve it starts a twin with the
 * Kafka adapter on a topic of its own and checks that the twin applied every acked message.
 * `-e NAME=value` arguments become the producer's env (as for k6).
 */
async function kafkaIngest(flags, args) {
  if (!process.env.STRATUM_KAFKA_BROKERS) {
    log('kafka-ingest needs STRATUM_KAFKA_BROKERS (eval "$(bash infrastructure/native/all.sh start)")');
    process.exit(2);
  }
  const extra = {};
  for (let i = 0; i < args.length; i++) {
    const pair = args[i] === '-e' || args[i] === '--env' ? args[++i] : args[i].startsWith('--env=') ? args[i].slice(6) : undefined;
    if (pair === undefined || !pair.includes('=')) {
      log(`kafka-ingest takes only -e NAME=value (got "${args[i]}")`);
      process.exit(2);
    }
    extra[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1);
  }
  if (!flags.serve) {
    const { code } = await runProducer(extra, 0);
    process.exit(code);
  }
  const tokens = makeTokens();
  log(`starting a twin with ${flags.assets} assets at speed ${flags.speed} with the Kafka adapter on 127.0.0.1`);
  const twin = await startTwin({ assets: flags.assets, speed: flags.speed, tokens, kafka: true });
  log(`twin at ${twin.url} (pid ${twin.pid}, topic ${twin.kafkaTopic})`);
  const sample = sampler(twin.pid);
  let result;
  try {
    result = await runProducer({ TARGET_URL: twin.url, TOKEN: tokens.pools.viewer[0], KAFKA_TOPIC: twin.kafkaTopic, CHECK_APPLIED: '1', ...extra }, 0);
  } finally {
    const usage = sample.stop();
    await twin.stop();
    const r = result?.summary;
    console.log('\n| date | script | assets | rate /s | acked | applied | errors + dropped | produce p50 / p95 / p99 ms | twin CPU avg / peak | twin RSS start → end (max) | exit |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    console.log(`| ${new Date().toISOString().slice(0, 10)} | ${KAFKA_INGEST} | ${twin.assets} | ${r?.rate ?? '—'} | ${r?.acked ?? '—'} | ${r?.applied ?? '—'} | ${r ? r.errors + r.dropped : '—'} | ${fmt(r?.p50Ms, 1)} / ${fmt(r?.p95Ms, 1)} / ${fmt(r?.p99Ms, 1)} | ${usage ? `${usage.cpuAvgPct}% / ${usage.cpuPeakPct}%` : '—'} | ${usage ? `${usage.rssStartMiB} → ${usage.rssEndMiB} (${usage.rssMaxMiB}) MiB` : '—'} | ${result?.code ?? '—'} |`);
  }
  process.exit(result.code);
}

const argv = process.argv.slice(2);
if (argv[0] === '--smoke') await smoke();
else await one(argv);
