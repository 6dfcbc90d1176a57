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
}

/** A measurement as a row of the linear model z = h·θ + c + e (θ in radians). */
interface Row {
  readonly cols: Int32Array;
  readonly coefs: Float64Array;
  /** Pattern edge of each pair (a < b) of cols, in the order the loops below visit them. */
  readonly pairEdges: Int32Array;
  readonly z: number;
  readonly constant: number;
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
  const confidence = options.confidence ?? 0.99;
  const limit = options.normalizedResidualLimit ?? 3;
  const maxRemovals = options.maxRemovals ?? Math.floor(measurements.length / 2);
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
    let z: number;
    let s: number;
    if (m.kind === 'flow') {
      const k = branchIndex.get(m.target)!;
      const b = susceptanceMw[k]!;
      add(net.from[k]!, b);
      add(net.to[k]!, -b);
      constant = -b * net.shiftDeg[k]! * DEG;
      z = m.valueMw;
      s = m.sigmaMw;
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
      z = m.valueMw;
      s = m.sigmaMw;
    } else {
      add(net.busIndex.get(m.target)!, 1);
      z = m.valueDeg * DEG;
      s = m.sigmaDeg * DEG;
    }
    const entries = [...coef].filter(([, c]) => c !== 0).sort((x, y) => x[0] - y[0]);
    const cols = Int32Array.from(entries, ([v]) => v);
    const pairEdges: number[] = [];
    for (let i = 0; i < cols.length; i++) for (let j = i + 1; j < cols.length; j++) pairEdges.push(edge(cols[i]!, cols[j]!));
    return { cols, coefs: Float64Array.from(entries, ([, c]) => c), pairEdges: Int32Array.from(pairEdges), z, constant, weight: 1 / (s * s), variance: s * s };
  });
  return new DcEstimator(net, rows, grounded, references, statesCount, susceptanceMw, Int32Array.from(edgeFrom), Int32Array.from(edgeTo), edgeOf).run(confidence, limit, maxRemovals);
}

/** One estimate of the state from the active rows: the factor, the angles and what they leave undetermined. */
interface Solution {
  readonly angle: Float64Array;
  /** Null-space direction of the measurements (0 where determined); all zero when fully observable. */
  readonly undetermined: Float64Array;
  readonly pseudoPivots: number;
  readonly residual: Float64Array;
  readonly j: number;
}

class DcEstimator {
  private readonly chol: SparseLdlt;
  private readonly diag: Float64Array;
  private readonly off: Float64Array;
  private readonly rhs: Float64Array;
  private readonly active: Uint8Array;
  /** G⁻¹ on the factor's pattern (permuted numbering), from Takahashi's equations. */
  private readonly inverseDiagonal: Float64Array;
  private readonly inverseValues: Float64Array;

  constructor(
    private readonly net: GridNetwork,
    private readonly rows: readonly Row[],
    private readonly grounded: Uint8Array,
    private readonly references: Int32Array,
    private readonly statesCount: number,
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
    this.inverseDiagonal = new Float64Array(n);
    this.inverseValues = new Float64Array(this.chol.nonZeros);
  }

  run(confidence: number, limit: number, maxRemovals: number): EstimationResult {
    const removed: RemovedMeasurement[] = [];
    let solution = this.solve();
    let dof = this.degreesOfFreedom(solution);
    const initialJ = solution.j;
    const initialDof = dof;
    const initialThreshold = threshold(confidence, dof);
    let critical: number[];
    let finalNormalized: Float64Array;
    for (;;) {
      const normalized = this.normalizedResiduals(solution);
      critical = normalized.critical;
      finalNormalized = normalized.values;
      if (!(solution.j > threshold(confidence, dof)) || removed.length >= maxRemovals) break;
      let worst = -1;
      let worstValue = limit;
      for (let i = 0; i < this.rows.length; i++) {
        const r = normalized.values[i]!;
        if (this.active[i] && r > worstValue) {
          worst = i;
          worstValue = r;
        }
      }
      if (worst < 0) break;
      this.active[worst] = 0;
      removed.push({ index: worst, normalizedResidual: worstValue });
      solution = this.solve();
      dof = this.degreesOfFreedom(solution);
    }
    return this.report(solution, { initialJ, initialDof, initialThreshold, removed, dof, finalThreshold: threshold(confidence, dof), critical, normalized: finalNormalized });
  }

  private degreesOfFreedom(solution: Solution): number {
    let m = 0;
    for (const a of this.active) m += a;
    return m - (this.statesCount - solution.pseudoPivots);
  }

  /** Builds G = HᵀWH and HᵀW(z − c) from the active rows, factorises and solves. */
  private solve(): Solution {
    const { net, rows, grounded, diag, off, rhs, chol, active } = this;
    const n = net.busIds.length;
    diag.fill(0);
    off.fill(0);
    rhs.fill(0);
    for (let i = 0; i < rows.length; i++) {
      if (!active[i]) continue;
      const { cols, coefs, pairEdges, z, constant, weight } = rows[i]!;
      let p = 0;
      for (let a = 0; a < cols.length; a++) {
        const ca = coefs[a]!;
        diag[cols[a]!]! += weight * ca * ca;
        rhs[cols[a]!]! += weight * ca * (z - constant);
        for (let b = a + 1; b < cols.length; b++) off[pairEdges[p++]!]! += weight * ca * coefs[b]!;
      }
    }
    for (let v = 0; v < n; v++) if (grounded[v]) diag[v] = 1;
    const replaced: number[] = [];
    chol.factor(diag, off, { tolerance: PIVOT_TOLERANCE, replaced });
    const angle = chol.solve(rhs);
    // Monticelli–Wu: give the pseudo-measured angles distinct values; whatever moves with them is
    // not determined by the measurements.
    const undetermined = new Float64Array(n);
    if (replaced.length > 0) {
      const pseudo = new Float64Array(n);
      replaced.forEach((v, k) => (pseudo[v] = 1 + 0.618_033_988_749_895 * k));
      chol.solve(pseudo, undetermined);
      for (let v = 0; v < n; v++) if (Math.abs(undetermined[v]!) <= NULL_TOLERANCE) undetermined[v] = 0;
    }
    this.invertOnPattern();
    const residual = new Float64Array(rows.length);
    let j = 0;
    for (let i = 0; i < rows.length; i++) {
      const { cols, coefs, z, constant, weight } = rows[i]!;
      let h = constant;
      for (let a = 0; a < cols.length; a++) h += coefs[a]! * angle[cols[a]!]!;
      residual[i] = z - h;
      if (active[i]) j += weight * residual[i]! * residual[i]!;
    }
    return { angle, undetermined, pseudoPivots: replaced.length, residual, j };
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

  private normalizedResiduals(solution: Solution): { values: Float64Array; critical: number[] } {
    const values = new Float64Array(this.rows.length);
    const critical: number[] = [];
    for (let i = 0; i < this.rows.length; i++) {
      if (!this.active[i]) continue;
      const { cols, coefs, variance } = this.rows[i]!;
      let hzh = 0;
      for (let a = 0; a < cols.length; a++) {
        hzh += coefs[a]! * coefs[a]! * this.covariance(cols[a]!, cols[a]!);
        for (let b = a + 1; b < cols.length; b++) hzh += 2 * coefs[a]! * coefs[b]! * this.covariance(cols[a]!, cols[b]!);
      }
      const omega = variance - hzh;
      // A critical measurement's residual is identically zero: nothing to normalise.
      if (omega <= 1e-9 * variance) critical.push(i);
      else values[i] = Math.abs(solution.residual[i]!) / Math.sqrt(omega);
    }
    return { values, critical };
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
    r: { initialJ: number; initialDof: number; initialThreshold: number; removed: RemovedMeasurement[]; dof: number; finalThreshold: number; critical: number[]; normalized: Float64Array },
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
        branches.push({ id: net.branchIds[k]!, pFromMw: flow, sigmaMw: Math.abs(b) * Math.sqrt(Math.max(0, this.differenceVariance(f, t))) });
      }
    }
    return {
      model: 'dc-wls',
      measurements: this.rows.length,
      initialJ: r.initialJ,
      degreesOfFreedom: r.initialDof,
      chi2Threshold: r.initialThreshold,
      removed: r.removed,
      finalJ: solution.j,
      finalDegreesOfFreedom: r.dof,
      finalChi2Threshold: r.finalThreshold,
      consistent: !(solution.j > r.finalThreshold),
      references: [...this.references].map((v) => net.busIds[v]!),
      buses,
      branches,
      unobservable,
      critical: r.critical,
      normalizedResiduals: Array.from(r.normalized, (value, i) => (this.active[i] && !critical.has(i) ? value : null)),
    };
  }
}

/** The chi-square quantile; with no redundancy (dof ≤ 0) there is nothing to test: +∞. */
function threshold(confidence: number, dof: number): number {
  return dof > 0 ? chiSquareQuantile(confidence, dof) : Number.POSITIVE_INFINITY;
}
