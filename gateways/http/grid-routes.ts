/**
 * The live grid for operators: `GET /api/grid` (every branch's signed DC flow, rating, loading and
 * state; every bus's load and generation) and `GET /api/grid/contingencies` (live N-1: for every
 * single branch and generator outage of the network as it stands now, the branches it would
 * overload, worst first). Both carry an ETag; a client polls with If-None-Match and gets 304 until
 * something changed (the UI's N-1 panel polls every few seconds).
 *
 * N-1 runs with LODF/PTDF on the live state (engine/power/contingency.ts `screenN1`: the in-service
 * branches and generators, the served loads and outputs, the live ratings) in a worker thread
 * (n1-worker.ts; a 2,400-bus grid takes seconds), so the event loop never waits for it: recomputed
 * only while someone watches (a request in the last `WATCH_MS`), after a change of the power layer,
 * debounced (`debounceMs`), at most once per `minIntervalMs` and one at a time. A request between
 * recomputes gets the last result with `stale: true` when the grid has changed since.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { dcLayerFor, type AssetState, type DcLayer, type SolverState } from '../../actors/index.ts';
import { Worker } from 'node:worker_threads';
import { ConflictError, type Engine, type StateChange } from '../../engine/index.ts';
import type { N1Answer, N1Job } from './n1-worker.ts';
import { NotFoundError } from '../door/index.ts';
import type { BusVoltageRow, ContingencyReply, ContingencyRow, GridBranchRow, GridReply, VoltageMonitorSummary } from '../protocol.ts';

export type { ContingencyReply, ContingencyRow, GridBranchRow, GridReply } from '../protocol.ts';

/** How long after the last N-1 request the screening keeps being recomputed on changes. */
const WATCH_MS = 30_000;

export interface GridWatchOptions {
  /** Wait after a change before recomputing N-1 (ms; changes meanwhile join in). Default 250. */
  readonly debounceMs?: number;
  /** Least time between two N-1 recomputes (ms). Default 2000. */
  readonly minIntervalMs?: number;
}

/** The live grid of one engine: state on demand, N-1 recomputed while watched. */
export class GridWatch {
  private readonly solverActor: number;
  private readonly layer: DcLayer;
  private worker: Worker | undefined;
  private running: Promise<void> | undefined;
  private jobs = 0;
  private readonly unsubscribe: () => void;
  private readonly debounceMs: number;
  private readonly minIntervalMs: number;
  private changes = 0;
  private screenedAtChange = -1;
  private lastRecompute = Number.NEGATIVE_INFINITY;
  private watchedUntil = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private result: Omit<ContingencyReply, 'stale' | 'rows'> & { rows: ContingencyRow[] } | null = null;
  /** The live voltage monitor, when on (gateways/automation/voltage-monitor.ts): each bus's last AC voltage in `state()`. */
  voltages: { busVoltage(v: number): BusVoltageRow | undefined; summary(): VoltageMonitorSummary; readonly runs: number } | undefined;

  /** The watch of an engine whose power layer is electrical, or null. */
  static attach(engine: Engine, options: GridWatchOptions = {}): GridWatch | null {
    const powerLayer = engine.index.layers.indexOf('power');
    const solverActor = powerLayer < 0 ? -1 : engine.index.solverOfLayer[powerLayer]!;
    if (solverActor < 0) return null;
    const state = engine.kernel.states[solverActor] as SolverState;
    const layer = dcLayerFor(state.graph, engine.index, 1);
    return layer === null ? null : new GridWatch(engine, solverActor, layer, powerLayer, options);
  }

  private constructor(private readonly engine: Engine, solverActor: number, layer: DcLayer, powerLayer: number, options: GridWatchOptions) {
    this.solverActor = solverActor;
    this.layer = layer;
    this.debounceMs = options.debounceMs ?? 250;
    this.minIntervalMs = options.minIntervalMs ?? 2000;
    const index = engine.index;
    this.unsubscribe = engine.stream.subscribe((c: StateChange) => {
      if (c.actor < index.assetCount && index.layerOf[c.actor] === powerLayer) this.changed();
    });
  }

  private live(): NonNullable<SolverState['live']> | null {
    return (this.engine.kernel.states[this.solverActor] as SolverState).live ?? null;
  }

  private changed(): void {
    this.changes++;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined || Date.now() > this.watchedUntil || this.screenedAtChange === this.changes) return;
    const wait = Math.max(this.debounceMs, this.lastRecompute + this.minIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Changes that came while this ran get their own (later) recompute.
      void this.recompute().then(() => this.schedule(), () => undefined);
    }, wait);
    this.timer.unref?.();
  }

  /** The N-1 worker, started on first use with the network's structure. */
  private workerFor(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(new URL('./n1-worker.mjs', import.meta.url), { workerData: { n1: true, net: this.layer.grid.net } });
    worker.unref();
    worker.on('error', () => {
      if (this.worker === worker) this.worker = undefined;
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
    });
    this.worker = worker;
    return worker;
  }

  /** Screens N-1 on the live state now, in the worker; one screening at a time. */
  recompute(): Promise<void> {
    if (this.running !== undefined) return this.running;
    const live = this.live();
    if (live === null) return Promise.resolve();
    const at = this.changes;
    const clock = this.engine.now;
    const job: N1Job = {
      id: ++this.jobs,
      branchOn: live.branchOn,
      genOn: live.genOn,
      loadMw: live.loadMw,
      pgMw: live.pgMw,
      rateAMw: Float64Array.from(this.layer.grid.ratingMw, (r) => (Number.isFinite(r) ? r : 0)),
    };
    const worker = this.workerFor();
    this.running = new Promise<void>((resolve, reject) => {
      const onMessage = (answer: N1Answer | { ready: true }): void => {
        if (!('id' in answer) || answer.id !== job.id) return;
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        if (answer.error !== undefined) return reject(new Error(`live N-1 screening failed: ${answer.error}`));
        const rows = answer.rows!;
        this.result = {
          version: (this.result?.version ?? 0) + 1,
          clock,
          method: 'lodf',
          screened: rows.length,
          insecure: rows.filter((r) => r.overloads.length > 0).length,
          seconds: answer.seconds!,
          rows,
        };
        this.screenedAtChange = at;
        this.lastRecompute = Date.now();
        resolve();
      };
      const onExit = (): void => reject(new Error('the live N-1 worker stopped'));
      worker.on('message', onMessage);
      worker.once('exit', onExit);
      worker.postMessage(job);
    }).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** The latest N-1 result (waiting for the first one); marks the screening as watched. */
  async contingencies(limit: number): Promise<ContingencyReply> {
    this.watchedUntil = Date.now() + WATCH_MS;
    if (this.result === null) await this.recompute();
    else this.schedule();
    const r = this.result;
    if (r === null) throw new ConflictError('the grid has not been solved yet (the engine has not started): ask again in a moment');
    return { ...r, stale: this.screenedAtChange !== this.changes, rows: r.rows.slice(0, limit) };
  }

  /** A tag that changes whenever the power layer changed (for GET /api/grid). */
  get version(): number {
    return this.changes;
  }

  state(): GridReply {
    const live = this.live();
    const net = this.layer.grid.net;
    const index = this.engine.index;
    const m = net.branchIds.length;
    const flowMw = live?.flowMw ?? new Float64Array(m);
    const branches: GridBranchRow[] = [];
    for (let b = 0; b < m; b++) {
      const rating = this.layer.grid.ratingMw[b]!;
      const actor = index.indexOf(net.branchIds[b]!)!;
      const asset = this.engine.kernel.states[actor] as AssetState;
      branches.push({
        id: net.branchIds[b]!,
        from: net.busIds[net.from[b]!]!,
        to: net.busIds[net.to[b]!]!,
        flowMw: flowMw[b]!,
        ratingMw: Number.isFinite(rating) ? rating : null,
        loadingPct: Number.isFinite(rating) && rating > 0 ? (Math.abs(flowMw[b]!) / rating) * 100 : null,
        inService: live === null ? net.branchInService[b] !== 0 : live.branchOn[b] !== 0,
        tripped: asset.tripped,
      });
    }
    const generation = new Float64Array(net.busIds.length);
    const generators = net.genIds.map((id, g) => {
      const output = live?.pgMw[g] ?? 0;
      generation[net.genBus[g]!]! += output;
      return { id, bus: net.busIds[net.genBus[g]!]!, outputMw: output, scheduleMw: live?.demandMw[this.layer.memberOfGen[g]!] ?? net.pgMw[g]!, inService: live?.genOn[g] !== 0 };
    });
    const voltages = this.voltages;
    const buses = net.busIds.map((id, v) => ({ id, loadMw: live?.loadMw[v] ?? 0, generationMw: generation[v]!, ...voltages?.busVoltage(v) }));
    return {
      version: this.changes,
      clock: this.engine.now,
      branches,
      buses,
      generators,
      totalLoadMw: buses.reduce((s, b) => s + b.loadMw, 0),
      totalGenerationMw: generators.reduce((s, g) => s + g.outputMw, 0),
      shedMw: live?.shedMw ?? 0,
      ...(voltages === undefined ? {} : { voltage: voltages.summary() }),
    };
  }

  stop(): void {
    this.unsubscribe();
    if (this.timer !== undefined) clearTimeout(this.timer);
    void this.worker?.terminate();
    this.worker = undefined;
  }
}

const limitQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(50) });

/**
 * Registers `/api/grid` and `/api/grid/contingencies`. Without an electrical power layer both
 * answer 404 naming why. Returns the watch (or null) so the server can stop it.
 */
export function registerGridRoutes(fastify: FastifyInstance, ctx: { readonly engine: Engine; readonly options?: GridWatchOptions }): GridWatch | null {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const watch = GridWatch.attach(ctx.engine, ctx.options);
  const need = (): GridWatch => {
    if (watch === null) throw new NotFoundError('this city has no electrical power layer (no assets with electrical.kind "bus"): import a MATPOWER case or generate a city with its grid');
    return watch;
  };
  app.get('/api/grid', {
    config: { right: 'read' },
    schema: { tags: ['grid'], summary: 'Live DC flows: every branch (signed MW from → to, rating, loading %, tripped) and bus (load, generation). ETag; 304 on If-None-Match.', security: [{ bearer: [] }] },
  }, (request, reply) => {
    const w = need();
    const etag = `"grid-${w.version}-${w.voltages?.runs ?? 0}"`;
    reply.header('etag', etag).header('cache-control', 'private, no-cache');
    if (request.headers['if-none-match'] === etag) return reply.status(304).send();
    return w.state();
  });
  app.get('/api/grid/contingencies', {
    config: { right: 'read' },
    schema: {
      tags: ['grid'],
      summary: 'Live N-1 (LODF) of the grid as it stands: per branch and generator outage the overloaded branches with post-contingency loading %, worst first. ETag; 304 on If-None-Match.',
      security: [{ bearer: [] }],
      querystring: limitQuery,
    },
  }, async (request, reply) => {
    const w = need();
    const result = await w.contingencies(request.query.limit);
    const etag = `"n1-${result.version}-${result.stale ? 's' : 'f'}-${request.query.limit}"`;
    reply.header('etag', etag).header('cache-control', 'private, no-cache');
    if (request.headers['if-none-match'] === etag) return reply.status(304).send();
    return result;
  });
  return watch;
}
