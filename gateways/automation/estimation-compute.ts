import { prepareDcEstimation, type DcEstimationModel, type EstimationResult, type GridNetwork, type IslandEstimate, type Measurement } from '../../engine/index.ts';

/**
 * The structure of the live estimator's measurement set on the live topology: sent with a run only
 * when it changed (a topology change, a sensor's first reading, an exclusion does not change it), so
 * the compute side keeps the prepared model — and its factor — between runs.
 */
export interface EstimationModelSpec {
  /** Increases with every new structure (the main side numbers them). */
  readonly version: number;
  readonly busType: Uint8Array;
  readonly branchInService: Uint8Array;
  readonly genInService: Uint8Array;
  /** Per measurement (in typed arrays: cheap to post): its kind, its target (a branch index for a flow, a bus index for an injection) and its σ, MW. */
  readonly kinds: Uint8Array;
  readonly targets: Int32Array;
  readonly sigmaMw: Float64Array;
}

/** Nice value of the estimation worker thread on Linux (background work: the event loop comes first). */
export const ESTIMATION_WORKER_NICE = 10;

/** `EstimationModelSpec.kinds` codes. */
export const SPEC_FLOW = 0;
export const SPEC_INJECTION = 1;

/** One run: the readings as measurement values, in the order of the model's measurements. */
export interface EstimationJob {
  /** The model's version; `spec` comes with it when the compute side may not hold it yet. */
  readonly model: number;
  readonly spec?: EstimationModelSpec;
  /** One value per measurement, MW; a flow's sign is the main side's guess of its direction. */
  readonly values: Float64Array;
  /** Measurements left out from the start (bad data under suspicion). */
  readonly excluded: Int32Array;
  readonly normalizedResidualLimit: number;
  /** A flow estimate running against its reading's sign by more than this flips the reading. */
  readonly flowSigmaMw: number;
}

/**
 * A run's result in typed arrays (NaN stands for null): cheap to post between threads, and cheap to
 * read on the event loop. Indexed by measurement, except the branch flows (by branch of the network).
 */
export interface EstimationOutcome {
  /** The values estimated with, after the flow sign corrections. */
  readonly values: Float64Array;
  readonly estimatedMw: Float64Array;
  readonly estimatedSigmaMw: Float64Array;
  readonly normalizedResiduals: Float64Array;
  readonly branchFlowMw: Float64Array;
  readonly branchSigmaMw: Float64Array;
  readonly removed: EstimationResult['removed'];
  readonly islands: readonly IslandEstimate[];
  readonly unobservable: readonly string[];
  /** Numeric factorisations this run did (a new model, or a changed set of measurements in use). */
  readonly factorisations: number;
  /** Time the compute took, ms (wall clock of the thread that ran it; diagnostics only). */
  readonly computeMs: number;
}

/** The typed arrays of an outcome (posted as transferables). */
export const outcomeBuffers = (o: EstimationOutcome): ArrayBuffer[] =>
  [o.values, o.estimatedMw, o.estimatedSigmaMw, o.normalizedResiduals, o.branchFlowMw, o.branchSigmaMw].map((a) => a.buffer as ArrayBuffer);

/** The typed arrays of a job (posted as transferables: the main side builds them fresh per run). */
export const jobBuffers = (job: EstimationJob): ArrayBuffer[] =>
  [job.values, job.excluded, ...(job.spec === undefined ? [] : [job.spec.busType, job.spec.branchInService, job.spec.genInService, job.spec.kinds, job.spec.targets, job.spec.sigmaMw])].map((a) => a.buffer as ArrayBuffer);

/**
 * The live estimator's computation (gateways/automation/live-estimator.ts): the prepared DC WLS
 * model of the current measurement set, kept with its factor between runs, the estimate with its
 * per-island chi-square tests, and the flow sign corrections. A pure function of the jobs it was
 * given, so the same results whether it runs in the estimation worker (estimation-worker.ts, the
 * server) or on the caller's thread (tests, the bench's readings/s figure).
 */
export class EstimationCompute {
  private model: { version: number; model: DcEstimationModel; flows: Uint8Array } | undefined;
  private readonly branchIndex: Map<string, number>;

  constructor(private readonly net: GridNetwork) {
    this.branchIndex = new Map(net.branchIds.map((id, k) => [id, k]));
  }

  /** @throws Error when the job names a model this side does not hold and brings no spec (the caller sends it again). */
  run(job: EstimationJob): EstimationOutcome {
    const started = performance.now();
    let prepared = false;
    if (job.spec !== undefined && job.spec.version === job.model && this.model?.version !== job.model) {
      const spec = job.spec;
      const live: GridNetwork = { ...this.net, busType: spec.busType, branchInService: spec.branchInService, genInService: spec.genInService };
      const measurements = Array.from(spec.kinds, (kind, i): Measurement =>
        kind === SPEC_FLOW
          ? { kind: 'flow', target: this.net.branchIds[spec.targets[i]!]!, valueMw: 0, sigmaMw: spec.sigmaMw[i]! }
          : { kind: 'injection', target: this.net.busIds[spec.targets[i]!]!, valueMw: 0, sigmaMw: spec.sigmaMw[i]! });
      this.model = {
        version: job.model,
        model: prepareDcEstimation(live, measurements),
        flows: Uint8Array.from(spec.kinds, (kind) => (kind === SPEC_FLOW ? 1 : 0)),
      };
      prepared = true;
    }
    const held = this.model;
    if (held === undefined || held.version !== job.model) throw new Error(`estimation model ${job.model} is not held here (it holds ${held?.version ?? 'none'}): send its spec`);
    if (job.values.length !== held.flows.length) throw new RangeError(`estimation job: ${job.values.length} values for ${held.flows.length} measurements`);
    const before = prepared ? 0 : held.model.factorisations;
    const values = job.values;
    const options = { perIsland: true, normalizedResidualLimit: job.normalizedResidualLimit, excluded: Array.from(job.excluded) };
    let result = held.model.estimate(values, options);
    // A flow reading is a magnitude: where the estimate (made without the reading when it was removed)
    // runs the other way by more than the reading's σ, the sign was wrong — flip it and estimate again
    // (at most twice: the first run after a start or a topology change is where this happens).
    for (let pass = 0; pass < 2; pass++) {
      let flipped = 0;
      for (let i = 0; i < values.length; i++) {
        const estimate = result.estimated[i];
        if (!held.flows[i] || estimate === null || estimate === undefined) continue;
        if (Math.sign(estimate.value) !== Math.sign(values[i]!) && Math.abs(estimate.value) > job.flowSigmaMw && values[i] !== 0) {
          values[i] = -values[i]!;
          flipped++;
        }
      }
      if (flipped === 0) break;
      result = held.model.estimate(values, options);
    }
    const factorisations = held.model.factorisations - before;

    const m = values.length;
    const estimatedMw = new Float64Array(m).fill(Number.NaN);
    const estimatedSigmaMw = new Float64Array(m).fill(Number.NaN);
    const normalizedResiduals = new Float64Array(m).fill(Number.NaN);
    for (let i = 0; i < m; i++) {
      const estimate = result.estimated[i];
      if (estimate !== null && estimate !== undefined) {
        estimatedMw[i] = estimate.value;
        estimatedSigmaMw[i] = estimate.sigma;
      }
      const residual = result.normalizedResiduals[i];
      if (residual !== null && residual !== undefined) normalizedResiduals[i] = residual;
    }
    const branchFlowMw = new Float64Array(this.net.branchIds.length).fill(Number.NaN);
    const branchSigmaMw = new Float64Array(this.net.branchIds.length).fill(Number.NaN);
    for (const b of result.branches) {
      const k = this.branchIndex.get(b.id);
      if (k === undefined || b.pFromMw === null) continue;
      branchFlowMw[k] = b.pFromMw;
      branchSigmaMw[k] = b.sigmaMw ?? Number.NaN;
    }
    return {
      values,
      estimatedMw,
      estimatedSigmaMw,
      normalizedResiduals,
      branchFlowMw,
      branchSigmaMw,
      removed: result.removed,
      islands: result.islands,
      unobservable: result.unobservable,
      factorisations,
      computeMs: performance.now() - started,
    };
  }
}
