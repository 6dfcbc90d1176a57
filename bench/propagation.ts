import nact from 'nact';
import { createBehaviours } from '../actors/index.ts';
import {
  CityIndex,
  DirectDriver,
  Kernel,
  MessageKind,
  NactDriver,
  StateChangeStream,
  generateCity,
  parseCity,
  type CityModel,
  type Driver,
  type Round,
  type SimMessage,
} from '../engine/index.ts';

const { dispatch, spawn, start, stop } = nact;

/** A recorded round: the messages delivered, in delivery order. */
type Trace = SimMessage[][];

/** Wraps a driver to record every round's deliveries (for the naive and bare replays). */
class RecordingDriver implements Driver {
  readonly trace: Trace = [];
  constructor(private readonly inner: Driver) {}
  get name(): 'nact' | 'direct' {
    return this.inner.name;
  }
  start(kernel: Kernel): Promise<void> {
    return this.inner.start(kernel);
  }
  runRound(round: Round): Promise<void> | void {
    this.trace.push(round.batches.flat());
    return this.inner.runRound(round);
  }
  stop(): Promise<void> {
    return this.inner.stop();
  }
}

/**
 * The cascade every figure is measured on: a storm takes out every fifth transmission substation
 * and every tenth generator at t = 60 s; the loss spreads through connectivity, dependencies
 * (pumps, towers after their batteries, SCADA, hospitals) and cohorts, and repairs bring it back;
 * six simulated hours.
 */
function cascadeInputs(index: CityIndex): Array<{ to: number; kind: MessageKind; value: number; time: number }> {
  const inputs: Array<{ to: number; kind: MessageKind; value: number; time: number }> = [];
  index.city.assets.forEach((a, i) => {
    if ((a.kind === 'transmission-substation' && i % 5 === 0) || (a.kind === 'generator' && i % 10 === 0)) {
      inputs.push({ to: i, kind: MessageKind.Damage, value: 1, time: 60_000 });
    }
  });
  return inputs;
}

const UNTIL_MS = 6 * 3600_000;

async function runKernel(city: CityModel, index: CityIndex, driver: Driver): Promise<{ seconds: number; deliveries: number; hash: string; events: number }> {
  const stream = new StateChangeStream(1024);
  const kernel = new Kernel(index, createBehaviours(index), 1, stream);
  await driver.start(kernel);
  for (const i of cascadeInputs(index)) kernel.schedule(i.to, -1, i.kind, i.value, 0, i.time);
  void city;
  const t0 = performance.now();
  await kernel.runUntil(driver, UNTIL_MS);
  const seconds = (performance.now() - t0) / 1000;
  await driver.stop();
  return { seconds, deliveries: kernel.counters.deliveries, hash: stream.stateHash(), events: stream.count };
}

/** One plain nact dispatch per recorded edge delivery; each actor runs its transition on that one message. */
async function runNaiveNact(index: CityIndex, trace: Trace): Promise<{ seconds: number; deliveries: number }> {
  const behaviours = createBehaviours(index);
  const kernel = new Kernel(index, behaviours, 1, new StateChangeStream(16));
  const system = start();
  let remaining = 0;
  let done: (() => void) | undefined;
  const spawnAny = spawn as unknown as (parent: unknown, f: unknown, name: string, props?: unknown) => unknown;
  const refs = new Array<unknown>(index.actorCount);
  for (let a = 0; a < index.actorCount; a++) {
    const behaviour = behaviours.behaviourOf(a);
    refs[a] = spawnAny(
      system,
      (state: unknown, message: SimMessage) => {
        let next = state;
        try {
          next = kernel.step(message.to, state, [message], 0).state;
        } catch {
          // Out-of-order single messages may confuse a behaviour; the cost is what we measure.
        }
        if (--remaining === 0) done?.();
        return next;
      },
      `n${a}`,
      { initialState: behaviour.init(a, index) },
    );
  }
  let deliveries = 0;
  const t0 = performance.now();
  for (const round of trace) {
    if (round.length === 0) continue;
    await new Promise<void>((resolve) => {
      remaining = round.length;
      done = resolve;
      for (const m of round) dispatch(refs[m.to] as never, m);
    });
    deliveries += round.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  stop(system);
  return { seconds, deliveries };
}

/** A bare batched dispatch loop over the same deliveries: group by target, call an empty handler per batch. */
function runBareLoop(actorCount: number, trace: Trace): { seconds: number; deliveries: number; checksum: number } {
  const pending = new Array<SimMessage[] | undefined>(actorCount);
  let checksum = 0;
  const handler = (batch: readonly SimMessage[]): void => {
    for (let i = 0; i < batch.length; i++) checksum += batch[i]!.value;
  };
  let deliveries = 0;
  const t0 = performance.now();
  for (const round of trace) {
    const touched: number[] = [];
    for (let i = 0; i < round.length; i++) {
      const m = round[i]!;
      const batch = pending[m.to];
      if (batch === undefined) {
        pending[m.to] = [m];
        touched.push(m.to);
      } else batch.push(m);
    }
    for (let k = 0; k < touched.length; k++) {
      const a = touched[k]!;
      handler(pending[a]!);
      pending[a] = undefined;
    }
    deliveries += round.length;
  }
  return { seconds: (performance.now() - t0) / 1000, deliveries, checksum };
}

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/**
 * Spawns a whole city as nact actors and measures time and heap per actor: the nact spawn alone
 * (the actors and their supervisors) and the whole engine creation (index, initial states, actors).
 */
async function measureSpawn(assets: number): Promise<{ actors: number; spawnSeconds: number; engineCreateSeconds: number; heapBytesPerActor: number; generateSeconds: number }> {
  const g0 = performance.now();
  const city = parseCity(generateCity({ assets, seed: 3 }), 'generated');
  const generateSeconds = (performance.now() - g0) / 1000;
  const before = heapUsed();
  const t0 = performance.now();
  const index = new CityIndex(city);
  const kernel = new Kernel(index, createBehaviours(index), 1, new StateChangeStream(1024));
  const driver = new NactDriver();
  const t1 = performance.now();
  await driver.start(kernel);
  const t2 = performance.now();
  const after = heapUsed();
  const actors = index.actorCount;
  await driver.stop();
  return { actors, spawnSeconds: (t2 - t1) / 1000, engineCreateSeconds: (t2 - t0) / 1000, heapBytesPerActor: (after - before) / actors, generateSeconds };
}

export interface PropagationOptions {
  /** Assets in the cascade city. */
  readonly assets: number;
  /** Assets for the spawn/heap measurement (1,000,000 for the target). */
  readonly spawnAssets: number;
  readonly log: (line: string) => void;
}

export async function runPropagationBench(options: PropagationOptions): Promise<Record<string, number | string>> {
  const city = parseCity(generateCity({ assets: options.assets, seed: 3 }), 'generated');
  const index = new CityIndex(city);
  options.log(`propagation: ${options.assets} assets, ${index.actorCount} actors`);

  // Warm-up passes so both drivers run JIT-compiled code.
  for (let i = 0; i < 3; i++) await runKernel(city, index, new DirectDriver());
  await runKernel(city, index, new NactDriver());
  const recorder = new RecordingDriver(new DirectDriver());
  await runKernel(city, index, recorder);
  // Best of three for each contender: the figures are throughput, noise only ever slows a run.
  const best = <T extends { seconds: number }>(runs: T[]): T => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const direct = best([await runKernel(city, index, new DirectDriver()), await runKernel(city, index, new DirectDriver()), await runKernel(city, index, new DirectDriver())]);
  const live = best([await runKernel(city, index, new NactDriver()), await runKernel(city, index, new NactDriver()), await runKernel(city, index, new NactDriver())]);
  if (live.hash !== direct.hash) throw new Error(`drivers disagree: nact ${live.hash} vs direct ${direct.hash}`);
  options.log(`  cascade: ${direct.deliveries} edge deliveries, ${direct.events} state changes, ${recorder.trace.length} rounds`);
  const naive = best([await runNaiveNact(index, recorder.trace), await runNaiveNact(index, recorder.trace), await runNaiveNact(index, recorder.trace)]);
  runBareLoop(index.actorCount, recorder.trace);
  const bare = best([runBareLoop(index.actorCount, recorder.trace), runBareLoop(index.actorCount, recorder.trace), runBareLoop(index.actorCount, recorder.trace)]);

  options.log(`  spawning ${options.spawnAssets} assets as nact actors…`);
  const spawn = await measureSpawn(options.spawnAssets);

  const engineRate = live.deliveries / live.seconds;
  const batchRate = direct.deliveries / direct.seconds;
  const naiveRate = naive.deliveries / naive.seconds;
  const bareRate = bare.deliveries / bare.seconds;
  return {
    propagationAssets: options.assets,
    cascadeDeliveries: direct.deliveries,
    cascadeStateChanges: direct.events,
    engineEdgeDeliveriesPerSec: Math.round(engineRate),
    batchEdgeDeliveriesPerSec: Math.round(batchRate),
    naiveNactEdgeDeliveriesPerSec: Math.round(naiveRate),
    bareLoopDeliveriesPerSec: Math.round(bareRate),
    liveVsNaiveNactRatio: round2(engineRate / naiveRate),
    directVsBareLoopRatio: round2(batchRate / bareRate),
    driversAgree: live.hash === direct.hash ? 'yes' : 'no',
    spawnAssets: options.spawnAssets,
    spawnActors: spawn.actors,
    spawnSeconds: round2(spawn.spawnSeconds),
    spawnSecondsPer100k: round2((spawn.spawnSeconds * 100_000) / spawn.actors),
    engineCreateSeconds: round2(spawn.engineCreateSeconds),
    heapBytesPerActor: Math.round(spawn.heapBytesPerActor),
    generateSeconds: round2(spawn.generateSeconds),
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
