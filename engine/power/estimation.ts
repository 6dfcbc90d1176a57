import chiSquareQuantile from '@stdlib/stats-base-dists-chisquare-quantile';
import { z } from 'zod';
import { ValidationError, type Problem } from '../errors.ts';
import { zodProblems } from '../model/validate.ts';
import { chooseReferences, findIslands } from './dcpf.ts';
import { busActive, type GridNetwork } from './network.ts';
import { slotInColumn, SparseLdlt } from './sparse.ts';

const DEG = Math.PI / 180;

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const sigma = z.number().refine((v) => Number.isFinite(v) && v > 0, 'must be a positive finite number');
const target = z.string().min(1, 'must be a non-empty id').max(200);

/**
 * One measurement, as the `estimate` command and the live twin take it: `flow` = MW at the from end
 * of a branch; `injection` = net MW a bus puts into the network (generation − load − shunt
 * conductance, as the DC power flow counts it); `angle` = a PMU's voltage angle in degrees, relative
 * to the island's reference bus.
 */
export const measurementSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('flow'), target, valueMw: finite, sigmaMw: sigma }),
  z.strictObject({ kind: z.literal('injection'), target, valueMw: finite, sigmaMw: sigma }),
  z.strictObject({ kind: z.literal('angle'), target, valueDeg: finite, sigmaDeg: sigma }),
]);
export type Measurement = z.infer<typeof measurementSchema>;

/** At most this many measurements in one estimate (a bound on the work of one request). */
export const MAX_MEASUREMENTS = 2_000_000;
export const measurementsSchema = z.array(measurementSchema).max(MAX_MEASUREMENTS, `at most ${MAX_MEASUREMENTS} measurements`);

export interface EstimationOptions {
  /** Confidence of the chi-square test (default 0.99). */
  readonly confidence?: number;
  /** A measurement is removed only while the largest normalised residual exceeds this (default 3). */
  readonly normalizedResidualLimit?: number;
  /** At most this many measurements are removed (default: half of them). */
  readonly maxRemovals?: number;
  /**
   * Indices of measurements left out from the start (the live twin's bad data still under
   * suspicion): not estimated with, not counted as removed, but their estimated value is reported.
   */
  readonly excluded?: readonly number[];
  /**
   * Chi-square test per island (default false: one test over the grid). Islands are independent
   * blocks of the one factorisation; per island, each pass removes the worst measurement of every
   * island that fails its own test.
   */
  readonly perIsland?: boolean;
}

/** One island's test: its reference bus, measurements, J against its own chi-square threshold. */
export interface IslandEstimate {
  readonly reference: string;
  readonly buses: number;
  /** Measurements in use (active) in the final estimate. */
  readonly measurements: number;
  readonly j: number;
  readonly degreesOfFreedom: number;
  readonly chi2Threshold: number;
  readonly consistent: boolean;
}

export interface RemovedMeasurement {
  /** Index into the input array. */
  readonly index: number;
  readonly normalizedResidual: number;
}

export interface EstimationResult {
  readonly model: 'dc-wls';
  readonly measurements: number;
  /** Weighted sum of squared residuals of the first estimate, its degrees of freedom and the test threshold. */
  readonly initialJ: number;
  readonly degreesOfFreedom: number;
  readonly chi2Threshold: number;
  readonly removed: readonly RemovedMeasurement[];
  readonly finalJ: number;
  readonly finalDegreesOfFreedom: number;
  readonly finalChi2Threshold: number;
  /** The final estimate passes the chi-square test. */
  readonly consistent: boolean;
  /** Angle reference of each island (fixed at 0). */
  readonly references: readonly string[];
  /** Every in-service bus; angle and sigma are null where the measurements do not determine them. */
  readonly buses: ReadonlyArray<{ readonly id: string; readonly angleDeg: number | null; readonly sigmaDeg: number | null }>;
  /** Every in-service branch; flow and sigma are null where the measurements do not determine them. */
  readonly branches: ReadonlyArray<{ readonly id: string; readonly pFromMw: number | null; readonly sigmaMw: number | null }>;
  /** Buses whose angle the measurements do not determine (observability analysis). */
  readonly unobservable: readonly string[];
  /** Measurements whose residual is always zero (removing one makes part of the grid unobservable): bad data there cannot be detected. */
  readonly critical: readonly number[];
  /** |r_N| of each input measurement in the final estimate; null for a removed or a critical one. */
  readonly normalizedResiduals: ReadonlyArray<number | null>;
  /**
   * The estimate of each input measurement's quantity, h(θ̂) in its own unit (MW or degrees), and
   * its σ (√(h·G⁻¹·hᵀ)); null where the measurement touches an unobservable bus. Given for removed
   * and excluded measurements too: it is what the live twin shows instead of the reading.
   */
  readonly estimated: ReadonlyArray<{ readonly value: number; readonly sigma: number } | null>;
  /** Per island (numbered as engine/power/dcpf.ts `findIslands`): J, degrees of freedom, threshold. */
  readonly islands: readonly IslandEstimate[];
}

/** A measurement as a row of the linear model z = h·θ + c + e (θ in radians). */
interface Row {
  readonly cols: Int32Array;
  readonly coefs: Float64Array;
  /** Pattern edge of each pair (a < b) of cols, in the order the loops below visit them. */
  readonly pairEdges: Int32Array;
  readonly constant: number;
  /** MW per radian for flow/injection rows, 1 for angle rows (values in the input unit = unit · h(θ)). */
  readonly unit: number;
  /** Island of the row (-1: it touches no state, e.g. an angle at a reference bus). */
  readonly island: number;
  readonly weight: number;
  readonly variance: number;
}

/** Relative size under which a pivot counts as zero (rank deficiency: unobservable angles). */
const PIVOT_TOLERANCE = 1e-10;
/** A null-space component below this (against pseudo values of order 1) is zero. */
const NULL_TOLERANCE = 1e-7;

/**
 * Checks a measurement list against a network: schema, then every target exists and is in service.
 *
 * @throws ValidationError naming `$[i].field` and the reason.
 */
export function parseMeasurements(document: unknown, net: GridNetwork, source: string): Measurement[] {
  const parsed = measurementsSchema.safeParse(document);
  if (!parsed.success) throw new ValidationError(source, zodProblems(parsed.error));
  const branchIndex = new Map(net.branchIds.map((id, k) => [id, k]));
  const problems: Problem[] = [];
  parsed.data.forEach((m, i) => {
    if (m.kind === 'flow') {
      const k = branchIndex.get(m.target);
      if (k === undefined) problems.push({ path: `$[${i}].target`, reason: `no branch "${m.target}" in ${net.name} (ids are br-<row>)` });
      else if (!branchUsable(net, k)) problems.push({ path: `$[${i}].target`, reason: `branch "${m.target}" is out of service` });
    } else {
      const v = net.busIndex.get(m.target);
      if (v === undefined) problems.push({ path: `$[${i}].target`, reason: `no bus "${m.target}" in ${net.name} (ids are bus-<BUS_I>)` });
      else if (!busActive(net, v)) problems.push({ path: `$[${i}].target`, reason: `bus "${m.target}" is isolated (type 4)` });
    }
  });
  if (problems.length > 0) throw new ValidationError(source, problems);
  return parsed.data;
}

function branchUsable(net: GridNetwork, k: number): boolean {
  return net.branchInService[k] !== 0 && busActive(net, net.from[k]!) && busActive(net, net.to[k]!);
}

/**
 * DC weighted-least-squares state estimation with bad-data identification.
 *
 * The state is the voltage angle of every in-service bus; each island's reference (its type-3 bus
 * with a generator, else the bus with the largest generation, else its lowest bus) is fixed at 0.
 * Gain matrix G = HᵀWH is factorised sparsely (minimum degree LDLᵀ); a zero pivot marks a direction
 * the measurements do not determine — it gets a pseudo-measurement, and the buses that move along
 * those directions are reported unobservable (Monticelli and Wu's numerical observability). The
 * residual covariance Ω = R − H·G⁻¹·Hᵀ needs only the entries of G⁻¹ on the factor's pattern
 * (Takahashi's equations). Then the chi-square test at `confidence` with m − (n − refs) degrees of
 * freedom; while it fails and the largest normalised residual |r|/√Ω exceeds the limit, that
 * measurement is removed and the state estimated again, one at a time.
 *
 * @example
 * const net = networkFromCase(parseMatpower(text, 'case118.m'));
 * const result = estimateDcState(net, parseMeasurements(json, net, 'm.json'));
 * result.removed; // [{ index: 17, normalizedResidual: 41.2 }, …]
 */
export function estimateDcState(net: GridNetwork, measurements: readonly Measurement[], options: EstimationOptions = {}): EstimationResult {
  return prepareDcEstimation(net, measurements).estimate(measurementValues(measurements), options);
}

/** The value of each measurement in its own unit (MW or degrees), as `DcEstimationModel.estimate` takes them. */
export function measurementValues(measurements: readonly Measurement[]): Float64Array {
  return Float64Array.from(measurements, (m) => (m.kind === 'angle' ? m.valueDeg : m.valueMw));
}

/**
 * A measurement set's model (H, W, the factor's pattern) kept for estimates with new values: the
 * live twin's estimator keeps one while the set of sensors and the topology stay the same, and the
 * numeric factor of G = HᵀWH is kept too while the same measurements are in use (a run that
 * removes nothing refactors nothing: one forward and back substitution per estimate).
 */
export interface DcEstimationModel {
  readonly measurements: number;
  /** Estimates with `values` (one per measurement, in its unit; e.g. `measurementValues`). */
  estimate(values: Float64Array, options?: EstimationOptions): EstimationResult;
  /** Numeric factorisations done so far (for tests and the bench: reuse is visible). */
  readonly factorisations: number;
}

/** Builds the model of a measurement set (targets checked by `parseMeasurements`). */
export function prepareDcEstimation(net: GridNetwork, measurements: readonly Measurement[]): DcEstimationModel {
  const n = net.busIds.length;

  const islands = findIslands(net);
  const references = chooseReferences(net, islands, 'matpower');
  // An island without a generator still needs an angle reference for its estimate: its lowest bus.
  for (let v = 0; v < n; v++) {
    const island = islands.islandOf[v]!;
    if (island >= 0 && references[island]! < 0) references[island] = v;
  }
  const grounded = new Uint8Array(n);
  for (let v = 0; v < n; v++) if (islands.islandOf[v]! < 0) grounded[v] = 1;
  for (const r of references) grounded[r] = 1;
  const statesCount = n - grounded.reduce((s, g) => s + g, 0);

  const susceptanceMw = new Float64Array(net.from.length);
  for (let k = 0; k < susceptanceMw.length; k++) susceptanceMw[k] = branchUsable(net, k) ? net.baseMva / (net.xPu[k]! * net.tap[k]!) : 0;

  // Rows of H, and the pattern of G (every pair of states sharing a row) as numbered edges.
  const edgeOf = new Map<number, number>();
  const edgeFrom: number[] = [];
  const edgeTo: number[] = [];
  const edge = (a: number, b: number): number => {
    const key = a < b ? a * n + b : b * n + a;
    let e = edgeOf.get(key);
    if (e === undefined) {
      e = edgeFrom.length;
      edgeOf.set(key, e);
      edgeFrom.push(a);
      edgeTo.push(b);
    }
    return e;
  };
  const branchIndex = new Map(net.branchIds.map((id, k) => [id, k]));
  const incident: number[][] = Array.from({ length: n }, () => []);
  for (let k = 0; k < net.from.length; k++) {
    if (susceptanceMw[k] === 0) continue;
    incident[net.from[k]!]!.push(k);
    incident[net.to[k]!]!.push(k);
  }
  const rows: Row[] = measurements.map((m) => {
    const coef = new Map<number, number>();
    const add = (v: number, c: number): void => {
      if (!grounded[v]) coef.set(v, (coef.get(v) ?? 0) + c);
    };
    let constant = 0;
    let s: number;
    let unit = 1;
    let island: number;
    if (m.kind === 'flow') {
      const k = branchIndex.get(m.target)!;
      const b = susceptanceMw[k]!;
      add(net.from[k]!, b);
      add(net.to[k]!, -b);
      constant = -b * net.shiftDeg[k]! * DEG;
      s = m.sigmaMw;
      island = islands.islandOf[net.from[k]!]!;
    } else if (m.kind === 'injection') {
      const v = net.busIndex.get(m.target)!;
      for (const k of incident[v]!) {
        const b = susceptanceMw[k]!;
        // A branch from a bus to itself does not exist; a parallel pair appears once per branch.
        const sign = net.from[k] === v ? 1 : -1;
        add(net.from[k]!, sign * b);
        add(net.to[k]!, -sign * b);
        constant -= sign * b * net.shiftDeg[k]! * DEG;
      }
      s = m.sigmaMw;
      island = islands.islandOf[v]!;
    } else {
      const v = net.busIndex.get(m.target)!;
      add(v, 1);
      s = m.sigmaDeg * DEG;
      unit = 1 / DEG;
      island = islands.islandOf[v]!;
    }
    const entries = [...coef].filter(([, c]) => c !== 0).sort((x, y) => x[0] - y[0]);
    const cols = Int32Array.from(entries, ([v]) => v);
    const pairEdges: number[] = [];
    for (let i = 0; i < cols.length; i++) for (let j = i + 1; j < cols.length; j++) pairEdges.push(edge(cols[i]!, cols[j]!));
    return { cols, coefs: Float64Array.from(entries, ([, c]) => c), pairEdges: Int32Array.from(pairEdges), constant, unit, island, weight: 1 / (s * s), variance: s * s };
  });
  const estimator = new DcEstimator(net, rows, grounded, references, islands.islandOf, statesCount, susceptanceMw, Int32Array.from(edgeFrom), Int32Array.from(edgeTo), edgeOf);
  return {
    measurements: measurements.length,
    get factorisations() {
      return estimator.factorisations;
    },
    estimate(values, options = {}) {
      if (values.length !== rows.length) throw new RangeError(`estimate: ${values.length} values for ${rows.length} measurements`);
      const confidence = options.confidence ?? 0.99;
      const limit = options.normalizedResidualLimit ?? 3;
      const maxRemovals = options.maxRemovals ?? Math.floor(rows.length / 2);
      return estimator.run(values, { confidence, limit, maxRemovals, excluded: options.excluded ?? [], perIsland: options.perIsland ?? false });
    },
  };
}

/** One estimate of the state from the active rows: the factor, the angles and what they leave undetermined. */
interface Solution {
  readonly angle: Float64Array;
  /** Null-space direction of the measurements (0 where determined); all zero when fully observable. */
  readonly undetermined: Float64Array;
  /** Pseudo-measured (zero-pivot) states per island. */
  readonly pseudoPivots: Int32Array;
  readonly residual: Float64Array;
  /** J per island. */
  readonly j: Float64Array;
}

interface RunSettings {
  readonly confidence: number;
  readonly limit: number;
  readonly maxRemovals: number;
  readonly excluded: readonly number[];
  readonly perIsland: boolean;
}

class DcEstimator {
  private readonly chol: SparseLdlt;
  private readonly diag: Float64Array;
  private readonly off: Float64Array;
  private readonly rhs: Float64Array;
  private readonly active: Uint8Array;
  /** The active rows the numeric factor (and G⁻¹ on its pattern) was computed for; null: none yet. */
  private factoredFor: Uint8Array | null = null;
  private replaced: number[] = [];
  private estimateVarianceCache: Float64Array | null = null;
  private readonly branchSigmaCache = new Map<number, number>();
  private undetermined: Float64Array;
  private z: Float64Array;
  /** G⁻¹ on the factor's pattern (permuted numbering), from Takahashi's equations. */
  private readonly inverseDiagonal: Float64Array;
  private readonly inverseValues: Float64Array;
  private readonly islandCount: number;
  /** States (buses not grounded) per island. */
  private readonly islandStates: Int32Array;
  factorisations = 0;

  constructor(
    private readonly net: GridNetwork,
    private readonly rows: readonly Row[],
    private readonly grounded: Uint8Array,
    private readonly references: Int32Array,
    private readonly islandOf: Int32Array,
    statesCount: number,
    private readonly susceptanceMw: Float64Array,
    edgeFrom: Int32Array,
    edgeTo: Int32Array,
    private readonly edgeOf: ReadonlyMap<number, number>,
  ) {
    const n = net.busIds.length;
    this.chol = SparseLdlt.analyse(n, edgeFrom, edgeTo);
    this.diag = new Float64Array(n);
    this.off = new Float64Array(edgeFrom.length);
    this.rhs = new Float64Array(n);
    this.active = new Uint8Array(rows.length).fill(1);
    this.undetermined = new Float64Array(n);
    this.z = new Float64Array(rows.length);
    this.inverseDiagonal = new Float64Array(n);
    this.inverseValues = new Float64Array(this.chol.nonZeros);
    this.islandCount = references.length;
    this.islandStates = new Int32Array(this.islandCount);
    for (let v = 0; v < n; v++) if (!grounded[v]) this.islandStates[islandOf[v]!]!++;
    if (statesCount !== this.islandStates.reduce((s, x) => s + x, 0)) throw new Error('internal: states and islands disagree');
  }

  run(values: Float64Array, settings: RunSettings): EstimationResult {
    const { confidence, limit, maxRemovals, perIsland } = settings;
    this.active.fill(1);
    for (const i of settings.excluded) {
      if (!(Number.isInteger(i) && i >= 0 && i < this.rows.length)) throw new RangeError(`excluded: ${i} is not a measurement index`);
      this.active[i] = 0;
    }
    for (let i = 0; i < this.rows.length; i++) this.z[i] = values[i]! / this.rows[i]!.unit;
    const removed: RemovedMeasurement[] = [];
    let solution = this.solve();
    let tests = this.tests(solution, confidence);
    const initial = this.total(tests, confidence, solution);
    let critical: number[];
    let finalNormalized: Float64Array;
    let estimateVariance: Float64Array;
    for (;;) {
      const normalized = this.normalizedResiduals(solution);
      critical = normalized.critical;
      finalNormalized = normalized.values;
      estimateVariance = normalized.estimateVariance;
      if (removed.length >= maxRemovals) break;
      // One test over the grid, or one per island: a group that fails it gives up its worst measurement.
      const failing = perIsland ? tests.map((t) => t.j > t.threshold) : [this.total(tests, confidence, solution).j > this.total(tests, confidence, solution).threshold];
      if (!failing.some(Boolean)) break;
      const worst = new Int32Array(failing.length).fill(-1);
      const worstValue = new Float64Array(failing.length).fill(limit);
      for (let i = 0; i < this.rows.length; i++) {
        const group = perIsland ? this.rows[i]!.island : 0;
        const r = normalized.values[i]!;
        if (group >= 0 && failing[group] && this.active[i] && r > worstValue[group]!) {
          worst[group] = i;
          worstValue[group] = r;
        }
      }
      let any = false;
      for (let g = 0; g < worst.length && removed.length < maxRemovals; g++) {
        if (worst[g]! < 0) continue;
        this.active[worst[g]!] = 0;
        removed.push({ index: worst[g]!, normalizedResidual: worstValue[g]! });
        any = true;
      }
      if (!any) break;
      solution = this.solve();
      tests = this.tests(solution, confidence);
    }
    const final = this.total(tests, confidence, solution);
    return this.report(solution, {
      initialJ: initial.j,
      initialDof: initial.dof,
      initialThreshold: initial.threshold,
      removed,
      finalJ: final.j,
      dof: final.dof,
      finalThreshold: final.threshold,
      critical,
      normalized: finalNormalized,
      estimateVariance,
      tests,
    });
  }

  /** The chi-square test of each island: J, m − (states − pseudo-measured states), threshold. */
  private tests(solution: Solution, confidence: number): Array<{ j: number; dof: number; threshold: number; measurements: number }> {
    const m = new Int32Array(this.islandCount);
    for (let i = 0; i < this.rows.length; i++) if (this.active[i] && this.rows[i]!.island >= 0) m[this.rows[i]!.island]!++;
    return Array.from(m, (count, g) => {
      const dof = count - (this.islandStates[g]! - solution.pseudoPivots[g]!);
      return { j: solution.j[g]!, dof, threshold: threshold(confidence, dof), measurements: count };
    });
  }

  /** The grid's test: J and dof summed over islands (rows touching no state count as measurements too). */
  private total(tests: ReadonlyArray<{ j: number; dof: number }>, confidence: number, solution: Solution): { j: number; dof: number; threshold: number } {
    let j = 0;
    let dof = 0;
    for (const t of tests) {
      j += t.j;
      dof += t.dof;
    }
    for (let i = 0; i < this.rows.length; i++) {
      if (!this.active[i] || this.rows[i]!.island >= 0) continue;
      dof++;
      j += this.rows[i]!.weight * solution.residual[i]! ** 2;
    }
    return { j, dof, threshold: threshold(confidence, dof) };
  }

  /**
   * Builds G = HᵀWH from the active rows and factorises it — unless the same rows are active as at
   * the last factorisation (then the factor and G⁻¹ on its pattern are kept) — then solves with
   * HᵀW(z − c).
   */
  private solve(): Solution {
    const { net, rows, grounded, diag, off, rhs, chol, active, z } = this;
    const n = net.busIds.length;
    const refactor = this.factoredFor === null || !sameFlags(this.factoredFor, active);
    if (refactor) {
      diag.fill(0);
      off.fill(0);
    }
    rhs.fill(0);
    for (let i = 0; i < rows.length; i++) {
      if (!active[i]) continue;
      const { cols, coefs, pairEdges, constant, weight } = rows[i]!;
      const zi = z[i]!;
      let p = 0;
      for (let a = 0; a < cols.length; a++) {
        const ca = coefs[a]!;
        rhs[cols[a]!]! += weight * ca * (zi - constant);
        if (!refactor) continue;
        diag[cols[a]!]! += weight * ca * ca;
        for (let b = a + 1; b < cols.length; b++) off[pairEdges[p++]!]! += weight * ca * coefs[b]!;
      }
    }
    if (refactor) {
      for (let v = 0; v < n; v++) if (grounded[v]) diag[v] = 1;
      const replaced: number[] = [];
      chol.factor(diag, off, { tolerance: PIVOT_TOLERANCE, replaced });
      this.factorisations++;
      this.replaced = replaced;
      // Monticelli–Wu: give the pseudo-measured angles distinct values; whatever moves with them is
      // not determined by the measurements.
      const undetermined = new Float64Array(n);
      if (replaced.length > 0) {
        const pseudo = new Float64Array(n);
        replaced.forEach((v, k) => (pseudo[v] = 1 + 0.618_033_988_749_895 * k));
        chol.solve(pseudo, undetermined);
        for (let v = 0; v < n; v++) if (Math.abs(undetermined[v]!) <= NULL_TOLERANCE) undetermined[v] = 0;
      }
      this.undetermined = undetermined;
      this.invertOnPattern();
      this.factoredFor = Uint8Array.from(active);
      this.estimateVarianceCache = null;
      this.branchSigmaCache.clear();
    }
    const angle = chol.solve(rhs);
    const pseudoPivots = new Int32Array(this.islandCount);
    for (const v of this.replaced) if (this.islandOf[v]! >= 0) pseudoPivots[this.islandOf[v]!]!++;
    const residual = new Float64Array(rows.length);
    const j = new Float64Array(this.islandCount);
    for (let i = 0; i < rows.length; i++) {
      const { cols, coefs, constant, weight, island } = rows[i]!;
      let h = constant;
      for (let a = 0; a < cols.length; a++) h += coefs[a]! * angle[cols[a]!]!;
      residual[i] = z[i]! - h;
      if (active[i] && island >= 0) j[island]! += weight * residual[i]! * residual[i]!;
    }
    return { angle, undetermined: this.undetermined, pseudoPivots, residual, j };
  }

  /**
   * Takahashi's equations: the entries of Z = G⁻¹ on the pattern of L (which holds every pair of
   * states sharing a measurement), from the last column back: Z_ij = −Σ_k L_kj·Z_ik (i > j),
   * Z_jj = 1/d_j − Σ_k L_kj·Z_kj.
   */
  private invertOnPattern(): void {
    const { colPtr, rowIdx, values: l, diagonal: d, size: n } = this.chol;
    const zDiag = this.inverseDiagonal;
    const zOff = this.inverseValues;
    for (let j = n - 1; j >= 0; j--) {
      const start = colPtr[j]!;
      const end = colPtr[j + 1]!;
      for (let q = start; q < end; q++) {
        const i = rowIdx[q]!;
        let s = 0;
        for (let q2 = start; q2 < end; q2++) {
          const k = rowIdx[q2]!;
          s += l[q2]! * (k === i ? zDiag[i]! : this.inverseAt(Math.max(i, k), Math.min(i, k)));
        }
        zOff[q] = -s;
      }
      let s = 1 / d[j]!;
      for (let q = start; q < end; q++) s -= l[q]! * zOff[q]!;
      zDiag[j] = s;
    }
  }

  /** Z at (row r, column c) of the permuted numbering, r > c, on the pattern. */
  private inverseAt(r: number, c: number): number {
    const slot = slotInColumn(this.chol.colPtr, this.chol.rowIdx, c, r);
    if (slot < 0) throw new Error(`internal: (${r}, ${c}) is not on the factor's pattern`);
    return this.inverseValues[slot]!;
  }

  /** (G⁻¹)_ab for original bus indices a, b (0 for a grounded bus: its angle is fixed). */
  private covariance(a: number, b: number): number {
    if (this.grounded[a] || this.grounded[b]) return 0;
    const pa = this.chol.inverse[a]!;
    const pb = this.chol.inverse[b]!;
    if (pa === pb) return this.inverseDiagonal[pa]!;
    return this.inverseAt(Math.max(pa, pb), Math.min(pa, pb));
  }

  /**
   * |r_N| of every active row (Ω = R − h·G⁻¹·hᵀ), and for every row the variance of its estimate
   * h·G⁻¹·hᵀ (inactive rows too: the live twin shows the estimate in place of an excluded reading).
   */
  private normalizedResiduals(solution: Solution): { values: Float64Array; critical: number[]; estimateVariance: Float64Array } {
    const values = new Float64Array(this.rows.length);
    const estimateVariance = new Float64Array(this.rows.length);
    const critical: number[] = [];
    // h·G⁻¹·hᵀ depends on the factor only: kept until the next factorisation.
    const cached = this.estimateVarianceCache;
    for (let i = 0; i < this.rows.length; i++) {
      const { cols, coefs, variance } = this.rows[i]!;
      let hzh = 0;
      if (cached !== null) hzh = cached[i]!;
      else {
        for (let a = 0; a < cols.length; a++) {
          hzh += coefs[a]! * coefs[a]! * this.covariance(cols[a]!, cols[a]!);
          for (let b = a + 1; b < cols.length; b++) hzh += 2 * coefs[a]! * coefs[b]! * this.covariance(cols[a]!, cols[b]!);
        }
      }
      estimateVariance[i] = hzh;
      if (!this.active[i]) continue;
      const omega = variance - hzh;
      // A critical measurement's residual is identically zero: nothing to normalise.
      if (omega <= 1e-9 * variance) critical.push(i);
      else values[i] = Math.abs(solution.residual[i]!) / Math.sqrt(omega);
    }
    this.estimateVarianceCache = estimateVariance;
    return { values, critical, estimateVariance };
  }

  /** Variance of θ_f − θ_t, from the pattern when the pair is on it, else by one solve. */
  private differenceVariance(f: number, t: number): number {
    const n = this.net.busIds.length;
    const key = f < t ? f * n + t : t * n + f;
    if (this.edgeOf.has(key) || this.grounded[f] || this.grounded[t]) return this.covariance(f, f) + this.covariance(t, t) - 2 * this.covariance(f, t);
    const e = new Float64Array(n);
    e[f] = 1;
    e[t] = -1;
    const y = this.chol.solve(e);
    return y[f]! - y[t]!;
  }

  private report(
    solution: Solution,
    r: {
      initialJ: number;
      initialDof: number;
      initialThreshold: number;
      removed: RemovedMeasurement[];
      finalJ: number;
      dof: number;
      finalThreshold: number;
      critical: number[];
      normalized: Float64Array;
      estimateVariance: Float64Array;
      tests: ReadonlyArray<{ j: number; dof: number; threshold: number; measurements: number }>;
    },
  ): EstimationResult {
    const { net, grounded, susceptanceMw } = this;
    const { angle, undetermined } = solution;
    const critical = new Set(r.critical);
    const buses: Array<{ id: string; angleDeg: number | null; sigmaDeg: number | null }> = [];
    const unobservable: string[] = [];
    for (let v = 0; v < net.busIds.length; v++) {
      if (!busActive(net, v)) continue;
      if (undetermined[v] !== 0) {
        unobservable.push(net.busIds[v]!);
        buses.push({ id: net.busIds[v]!, angleDeg: null, sigmaDeg: null });
      } else buses.push({ id: net.busIds[v]!, angleDeg: grounded[v] ? 0 : angle[v]! / DEG, sigmaDeg: Math.sqrt(Math.max(0, this.covariance(v, v))) / DEG });
    }
    const branches: Array<{ id: string; pFromMw: number | null; sigmaMw: number | null }> = [];
    for (let k = 0; k < net.from.length; k++) {
      const b = susceptanceMw[k]!;
      if (b === 0) continue;
      const f = net.from[k]!;
      const t = net.to[k]!;
      if (Math.abs(undetermined[f]! - undetermined[t]!) > NULL_TOLERANCE) branches.push({ id: net.branchIds[k]!, pFromMw: null, sigmaMw: null });
      else {
        const flow = b * (angle[f]! - angle[t]! - net.shiftDeg[k]! * DEG);
        // Like h·G⁻¹·hᵀ, a flow's σ depends on the factor only: kept until the next factorisation.
        let sigmaMw = this.branchSigmaCache.get(k);
        if (sigmaMw === undefined) {
          sigmaMw = Math.abs(b) * Math.sqrt(Math.max(0, this.differenceVariance(f, t)));
          this.branchSigmaCache.set(k, sigmaMw);
        }
        branches.push({ id: net.branchIds[k]!, pFromMw: flow, sigmaMw });
      }
    }
    return {
      model: 'dc-wls',
      measurements: this.rows.length,
      initialJ: r.initialJ,
      degreesOfFreedom: r.initialDof,
      chi2Threshold: r.initialThreshold,
      removed: r.removed,
      finalJ: r.finalJ,
      finalDegreesOfFreedom: r.dof,
      finalChi2Threshold: r.finalThreshold,
      consistent: !(r.finalJ > r.finalThreshold),
      references: [...this.references].map((v) => net.busIds[v]!),
      buses,
      branches,
      unobservable,
      critical: r.critical,
      normalizedResiduals: Array.from(r.normalized, (value, i) => (this.active[i] && !critical.has(i) ? value : null)),
      estimated: this.rows.map((row, i) => {
        for (const c of row.cols) if (undetermined[c] !== 0) return null;
        return { value: (this.z[i]! - solution.residual[i]!) * row.unit, sigma: Math.sqrt(Math.max(0, r.estimateVariance[i]!)) * row.unit };
      }),
      islands: r.tests.map((t, g) => ({
        reference: net.busIds[this.references[g]!]!,
        buses: this.islandStates[g]! + 1,
        measurements: t.measurements,
        j: t.j,
        degreesOfFreedom: t.dof,
        chi2Threshold: t.threshold,
        consistent: !(t.j > t.threshold),
      })),
    };
  }
}

function sameFlags(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The chi-square quantile; with no redundancy (dof ≤ 0) there is nothing to test: +∞. */
function threshold(confidence: number, dof: number): number {
  return dof > 0 ? chiSquareQuantile(confidence, dof) : Number.POSITIVE_INFINITY;
}
