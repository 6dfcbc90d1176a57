import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { createBehaviours } from '../actors/index.ts';
import { Engine, generateCity, parseCity, RealtimeRunner, type CityModel, type InputCommand } from '../engine/index.ts';
import { expandScenario, loadLibraryScenario } from '../scenarios/index.ts';
import { AuditLog, Control, WhatIfRunner } from '../gateways/door/index.ts';
import { startServerWith } from '../gateways/server.ts';

/**
 * Door figures of issue 12 (`npm run bench -- --only reliability`):
 *
 * - `hostileEventLoopMaxDelayMs`: the server's event-loop max delay (node:perf_hooks, 1 ms
 *   resolution) while a worker thread sends the hostile inputs for a few seconds: socket
 *   sheds with shares 'abc', 5, -3, 1e308; guarded isolates over Socket.io and an injector's
 *   `POST /api/inject`; a storm track of 3000 hours at 1-minute steps; anonymous and bad-token POST
 *   floods; speed 5e-324; subscriptions to unknown layers; bare engine.io connections; `?token=`
 *   URLs. The server runs its live clock at 60× on a 5,000-asset city meanwhile. The client is a
 *   worker thread (its own event loop), so its work is not counted in the server's delay. A first
 *   second of the same inputs is not measured (first-use code loading; printed apart).
 * - `oneDoorVsSubmitRatio`: telemetry inputs/s through the one door (`Control.command`: parse with
 *   the command schema, authorise, audit, journal) divided by inputs/s of straight `Engine.submit`
 *   of the same commands, each counted until the engine has applied them (submit, then the advance),
 *   measured interleaved in one run on two engines of the same city. `oneDoorAcceptOnlyVsSubmitRatio`
 *   compares the accepting alone (Engine.submit is a journal append of ~0.2 µs; the door adds the
 *   telemetry fast path's check, door-fast.ts, the right check and the audit tally, ~0.05 µs).
 */
export async function runDoorReliabilityBench(options: { quick: boolean; log: (line: string) => void }): Promise<Record<string, number | string>> {
  const { quick, log } = options;
  const assets = quick ? 1_000 : 5_000;
  const city = parseCity(generateCity({ assets, seed: 12 }), 'generated');
  const ratio = await doorVsSubmit(city, quick ? 20_000 : 100_000, log);
  const hostile = await hostileLoopDelay(city, quick ? 2_000 : 6_000, log);
  const whatIfDelay = await whatIfLoopDelay(quick ? 2_000 : 10_000, log);
  return { ...hostile, ...ratio, ...whatIfDelay };
}

/**
 * `whatIfEventLoopMaxDelayMs`: the event loop's max delay (1 ms resolution) while the largest
 * allowed what-if runs (horizon 7 days, the limit) on a 10,000-asset city whose live journal holds
 * the storm-crossing scenario and 20,000 telemetry readings, run as the server runs it: in the
 * what-if worker thread (gateways/door/whatif-runner.ts), the loop only posting the journal's read plan.
 * The worker's start (loading modules, indexing the city) is counted: it happens on the first what-if.
 */
export async function whatIfLoopDelay(assets: number, log: (line: string) => void): Promise<Record<string, number>> {
  const city = parseCity(generateCity({ assets, seed: 12 }), 'generated');
  const behaviours = (i: Parameters<typeof createBehaviours>[0]) => createBehaviours(i);
  const live = await Engine.create({ city, behaviours, seed: 12, driver: 'direct' });
  for (const event of expandScenario(loadLibraryScenario('storm-crossing'), live.index, 12)) live.submit(event.command, { at: event.at, source: 'scenario:storm-crossing' });
  const ids = live.index.ids.slice(0, live.index.assetCount);
  for (let k = 0; k < 20_000; k++) live.submit({ type: 'telemetry', target: ids[k % ids.length]!, value: (k % 97) + 0.5 }, { at: 60 + (k % 3600), source: 'bench:feed' });
  await live.runUntil(6 * 3_600_000);
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const started = performance.now();
  // As the server runs it: in the what-if worker thread (gateways/door/whatif-runner.ts).
  const runner = new WhatIfRunner(city, 12, live.cityHash);
  const result = await runner.run(live, { type: 'isolate', target: ids[0]! }, 7 * 86_400);
  const seconds = (performance.now() - started) / 1000;
  histogram.disable();
  await runner.close();
  await live.stop();
  log(`  what-if, 7-day horizon on ${assets.toLocaleString('en-GB')} assets (journal ${live.journal.length.toLocaleString('en-GB')} inputs, ${result.without.summary.failed} failed without the action): ${seconds.toFixed(1)} s; event loop max delay ${(histogram.max / 1e6).toFixed(1)} ms, p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms`);
  return {
    whatIfEventLoopMaxDelayMs: Number((histogram.max / 1e6).toFixed(1)),
    whatIfSeconds: Number(seconds.toFixed(2)),
  };
}

export async function doorVsSubmit(city: CityModel, inputs: number, log: (line: string) => void): Promise<Record<string, number>> {
  const make = (): Promise<Engine> => Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'direct' });
  const [doorEngine, plainEngine] = await Promise.all([make(), make()]);
  const control = new Control(doorEngine, new RealtimeRunner(doorEngine), new AuditLog());
  const principal = { name: 'bench', role: 'admin' as const, tokenHash: 'bench' };
  const ids = doorEngine.index.ids.slice(0, doorEngine.index.assetCount);
  // Bodies as they arrive from outside (plain objects, not yet parsed), and the same commands for Engine.submit.
  const bodies: unknown[] = Array.from({ length: inputs }, (_, k) => ({ type: 'telemetry', target: ids[k % ids.length]!, value: (k % 97) + 0.5 }));
  const commands = bodies as InputCommand[];
  const rounds = 10;
  const per = Math.floor(inputs / rounds);
  // Per path: time to accept (submit) and time to accept and apply (submit, then the engine advance that applies them).
  const time = { door: { accept: 0, total: 0 }, plain: { accept: 0, total: 0 } };
  // Round −1 is a warm-up of both paths, not counted: the first round of a process pays for
  // compiling the hot code, and it would be charged to whichever path ran first (measured: an A/A
  // run of two identical straight-submit paths read 0.58–0.92 without it).
  for (let r = -1; r < rounds; r++) {
    // Interleaved rounds, alternating which goes first, so drift of the host hits both alike.
    const from = Math.max(0, r) * per;
    const counted = r >= 0 ? 1 : 0;
    const runDoor = async (): Promise<void> => {
      const t = performance.now();
      for (let k = from; k < from + per; k++) control.command(principal, bodies[k], 'bench');
      const accepted = performance.now();
      await doorEngine.runUntil(doorEngine.now + 1_000);
      time.door.accept += (accepted - t) * counted;
      time.door.total += (performance.now() - t) * counted;
    };
    const runPlain = async (): Promise<void> => {
      const t = performance.now();
      for (let k = from; k < from + per; k++) plainEngine.submit(commands[k]!, { source: 'bench:bench' });
      const accepted = performance.now();
      await plainEngine.runUntil(plainEngine.now + 1_000);
      time.plain.accept += (accepted - t) * counted;
      time.plain.total += (performance.now() - t) * counted;
    };
    if (r % 2 === 0) {
      await runDoor();
      await runPlain();
    } else {
      await runPlain();
      await runDoor();
    }
  }
  if (doorEngine.summary().stateHash !== plainEngine.summary().stateHash) throw new Error('door and straight submit ended in different states');
  await Promise.all([doorEngine.stop(), plainEngine.stop()]);
  const n = per * rounds;
  const rate = (ms: number): number => Math.round(n / (ms / 1000));
  const doorPerSec = rate(time.door.total);
  const submitPerSec = rate(time.plain.total);
  log(`  accepted and applied: door ${doorPerSec.toLocaleString('en-GB')} inputs/s, Engine.submit ${submitPerSec.toLocaleString('en-GB')} inputs/s (${n} telemetry inputs each, ${rounds} interleaved rounds after one warm-up round of each)`);
  log(`  accepted only (the journal append, before the engine applies them): door ${rate(time.door.accept).toLocaleString('en-GB')} inputs/s, Engine.submit ${rate(time.plain.accept).toLocaleString('en-GB')} inputs/s`);
  return {
    oneDoorInputsPerSec: doorPerSec,
    straightSubmitInputsPerSec: submitPerSec,
    oneDoorVsSubmitRatio: Number((doorPerSec / submitPerSec).toFixed(3)),
    oneDoorAcceptOnlyVsSubmitRatio: Number((time.plain.accept / time.door.accept).toFixed(3)),
  };
}

async function hostileLoopDelay(city: CityModel, durationMs: number, log: (line: string) => void): Promise<Record<string, number>> {
  const tokens = { operator: 'bench-operator-1', injector: 'bench-injector-1', trainer: 'bench-trainer-1', admin: 'bench-admin-123' };
  const server = await startServerWith(
    { city, seed: 12, port: 0, quiet: true, speed: 60, adminToken: tokens.admin, uiDir: false },
    { env: { STRATUM_TOKENS: `op:operator:${tokens.operator},inj:injector:${tokens.injector},tr:trainer:${tokens.trainer}`, STRATUM_RECORDINGS: '/nonexistent-bench-recordings' } },
  );
  try {
    const guard = await fetch(`${server.url}/api/actions/guarded`, { method: 'POST', headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ key: 'isolate', guarded: true }) });
    if (guard.status !== 200) throw new Error(`could not guard isolate: ${guard.status}`);
    const journalBefore = server.engine.journal.length;
    // Warm up the loop monitor on an idle second of the running server, then measure the hostile window.
    const idle = monitorEventLoopDelay({ resolution: 1 });
    idle.enable();
    await new Promise((r) => setTimeout(r, 1_000));
    idle.disable();
    const target = city.assets.find((a) => a.layer === 'power')!.id;
    const hostileRound = async (ms: number): Promise<Record<string, number>> => {
      const worker = new Worker(new URL('./reliability-door-client.mjs', import.meta.url), { workerData: { url: server.url, tokens, durationMs: ms, target } });
      try {
        return await new Promise<Record<string, number>>((resolve, reject) => {
          worker.once('message', (m: Record<string, number>) => resolve(m));
          worker.once('error', reject);
        });
      } finally {
        await worker.terminate();
      }
    };
    // A first, unmeasured second of the same inputs: the first use of each path loads and compiles
    // code (modules loaded on demand, regular expressions, zod's compiled checks) once per process.
    const warm = monitorEventLoopDelay({ resolution: 1 });
    warm.enable();
    await hostileRound(1_000);
    warm.disable();
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    const sent = await hostileRound(durationMs);
    histogram.disable();
    const accepted = server.engine.journal.entries.slice(journalBefore).filter((e) => !e.source.startsWith('kafka'));
    const hostileAccepted = accepted.filter((e) => e.command.type === 'isolate' || (e.command.type === 'shed' && !(e.command.share >= 0 && e.command.share <= 1)));
    log(`  hostile inputs sent: ${JSON.stringify(sent)}; accepted hostile inputs: ${hostileAccepted.length}`);
    log(`  event-loop delay while hostile: max ${(histogram.max / 1e6).toFixed(1)} ms, p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms (idle second before: max ${(idle.max / 1e6).toFixed(1)} ms; first, unmeasured hostile second: max ${(warm.max / 1e6).toFixed(1)} ms)`);
    if (hostileAccepted.length > 0) throw new Error(`${hostileAccepted.length} hostile inputs were accepted`);
    return {
      hostileEventLoopMaxDelayMs: Number((histogram.max / 1e6).toFixed(1)),
      hostileEventLoopP99DelayMs: Number((histogram.percentile(99) / 1e6).toFixed(1)),
      idleEventLoopMaxDelayMs: Number((idle.max / 1e6).toFixed(1)),
      hostileWarmUpEventLoopMaxDelayMs: Number((warm.max / 1e6).toFixed(1)),
      hostileRequestsSent: Object.values(sent).reduce((a, b) => a + b, 0),
    };
  } finally {
    await server.close();
  }
}
