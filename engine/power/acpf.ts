/**
 * MATPOWER's AC power flow (`runpf` with its default options): the bus admittance matrix of
 * `makeYbus`, Newton–Raphson in polar coordinates (`newtonpf`), the flows and generator updates of
 * `pfsoln`. Default options as MATPOWER's: mismatch tolerance 1e-8 pu (infinity norm), at most 10
 * iterations, generator reactive limits not enforced.
 *
 * Model, per in-service branch from f to t with series impedance r + jx, total charging b,
 * turns ratio τ (TAP, 0 → 1) and phase shift φ on the from side (N = τ·e^{jφ}):
 *   y_s = 1/(r + jx),  Y_tt = y_s + jb/2,  Y_ff = Y_tt/τ²,  Y_ft = −y_s/N*,  Y_tf = −y_s/N;
 * each bus adds its shunt (Gs + jBs)/baseMVA. Buses: the island's reference (chooseReferences
 * 'matpower': the type-3 bus with an in-service generator, else the bus with the largest
 * generation) keeps its case angle and generator set point Vg; other buses with an in-service
 * generator and type 2 or 3 are PV (|V| = Vg; a second type-3 bus in an island too, where MATPOWER
 * would also fix its angle); all others PQ. Islands without a generator are
 * dead (V = 0, their load unserved), isolated (type 4) buses too.
 *
 * The Jacobian is solved with SparseLu (sparse-lu.ts): one minimum-degree analysis per network,
 * one numeric factorisation per iteration.
 */
import { SingularMatrixError } from './sparse.ts';
import { SparseLu } from './sparse-lu.ts';
import { BusType } from './matpower.ts';
import { chooseReferences, findIslands, type Islands } from './dcpf.ts';
import type { GridNetwork } from './network.ts';

const DEG = Math.PI / 180;

export interface AcPowerFlowOptions {
  /** Largest |mismatch| (pu on baseMVA) accepted as converged; MATPOWER's PF_TOL, default 1e-8. */
  readonly tolerancePu?: number;
  /** Newton iterations at most; MATPOWER's PF_MAX_IT, default 10. */
  readonly maxIterations?: number;
}

export interface AcPowerFlowResult {
  /** Voltage magnitude (pu) and angle (degrees) of every bus; 0 on dead and isolated buses. */
  readonly vmPu: Float64Array;
  readonly vaDeg: Float64Array;
  /** Complex power into each branch at its from and to ends (MW, MVAr); 0 when out of service or dead. */
  readonly pFromMw: Float64Array;
  readonly qFromMvar: Float64Array;
  readonly pToMw: Float64Array;
  readonly qToMvar: Float64Array;
  /** Generator active outputs after each reference bus's first generator took its island's balance (MW). */
  readonly pgMw: Float64Array;
  /** Reactive power the in-service generators at each bus inject together (MVAr), as pfsoln computes it; 0 elsewhere. */
  readonly busQgMvar: Float64Array;
  readonly islands: Islands;
  readonly references: Int32Array;
  readonly iterations: number;
  readonly converged: true;
  /** Largest |mismatch| (pu) at the solution. */
  readonly maxMismatchPu: number;
  /** Pd of energised buses; in-service generation there; Σ(Pf + Pt) over branches; shunt conductance consumption Σ Gs·V². */
  readonly totalLoadMw: number;
  readonly totalGenerationMw: number;
  readonly lossesMw: number;
  readonly shuntMw: number;
  /** Pd of buses in islands without generation. */
  readonly unservedLoadMw: number;
}

/**
 * Newton's method did not reach the tolerance, or its Jacobian was singular: never a wrong answer.
 * A RangeError like the other numeric failures here (CONTEXT.md, error model).
 */
export class AcPowerFlowError extends RangeError {
  constructor(
    message: string,
    readonly iterations: number,
    readonly maxMismatchPu: number,
    readonly busId: string | null,
  ) {
    super(message);
    this.name = 'AcPowerFlowError';
  }
}

/** Branch admittances of makeYbus (in-service branches; zeros otherwise) and the bus diagonal. */
interface Admittances {
  readonly ffRe: Float64Array;
  readonly ffIm: Float64Array;
  readonly ftRe: Float64Array;
  readonly ftIm: Float64Array;
  readonly tfRe: Float64Array;
  readonly tfIm: Float64Array;
  readonly ttRe: Float64Array;
  readonly ttIm: Float64Array;
  /** Y_ii: branch ends plus the bus shunt. */
  readonly diagRe: Float64Array;
  readonly diagIm: Float64Array;
}

function admittances(net: GridNetwork, branchOn: Uint8Array): Admittances {
  const m = net.from.length;
  const n = net.busIds.length;
  const y = {
    ffRe: new Float64Array(m),
    ffIm: new Float64Array(m),
    ftRe: new Float64Array(m),
    ftIm: new Float64Array(m),
    tfRe: new Float64Array(m),
    tfIm: new Float64Array(m),
    ttRe: new Float64Array(m),
    ttIm: new Float64Array(m),
    diagRe: new Float64Array(n),
    diagIm: new Float64Array(n),
  };
  for (let v = 0; v < n; v++) {
    y.diagRe[v] = net.gsMw[v]! / net.baseMva;
    y.diagIm[v] = net.bsMvar[v]! / net.baseMva;
  }
  for (let k = 0; k < m; k++) {
    if (branchOn[k] === 0) continue;
    const r = net.rPu[k]!;
    const x = net.xPu[k]!;
    const z2 = r * r + x * x;
    if (!(z2 > 0) || !Number.isFinite(z2)) throw new RangeError(`branch ${net.branchIds[k]} has impedance ${r} + j${x}: the AC model needs a non-zero series impedance`);
    const ysRe = r / z2;
    const ysIm = -x / z2;
    const tau = net.tap[k]!;
    const phi = net.shiftDeg[k]! * DEG;
    const nRe = tau * Math.cos(phi);
    const nIm = tau * Math.sin(phi);
    const n2 = tau * tau;
    const half = net.bPu[k]! / 2;
    // pandapower's branch conductance and T-model asymmetry (makeYbus's BR_G, BR_G_ASYM, BR_B_ASYM); 0 for MATPOWER cases.
    const gHalf = (net.gPu?.[k] ?? 0) / 2;
    y.ttRe[k] = ysRe + gHalf + (net.gAsymPu?.[k] ?? 0) / 2;
    y.ttIm[k] = ysIm + half + (net.bAsymPu?.[k] ?? 0) / 2;
    y.ffRe[k] = (ysRe + gHalf) / n2;
    y.ffIm[k] = (ysIm + half) / n2;
    // −y_s / conj(N) = −y_s·N / τ², and −y_s / N = −y_s·conj(N) / τ².
    y.ftRe[k] = -(ysRe * nRe - ysIm * nIm) / n2;
    y.ftIm[k] = -(ysRe * nIm + ysIm * nRe) / n2;
    y.tfRe[k] = -(ysRe * nRe + ysIm * nIm) / n2;
    y.tfIm[k] = -(ysIm * nRe - ysRe * nIm) / n2;
    y.diagRe[net.from[k]!]! += y.ffRe[k]!;
    y.diagIm[net.from[k]!]! += y.ffIm[k]!;
    y.diagRe[net.to[k]!]! += y.ttRe[k]!;
    y.diagIm[net.to[k]!]! += y.ttIm[k]!;
  }
  return y;
}

/**
 * Solves the AC power flow of the network as given (branches and generators in service, Pg, Qd…).
 *
 * @throws AcPowerFlowError when Newton's method does not converge in `maxIterations` (naming the
 *   largest mismatch and its bus) or the Jacobian is singular; RangeError for a branch with zero
 *   impedance.
 * @example
 * const r = acPowerFlow(networkFromCase(parseMatpower(text, 'case118.m')));
 * r.iterations; // 3
 * r.vmPu[0];    // 0.955
 */
export function acPowerFlow(net: GridNetwork, options: AcPowerFlowOptions = {}): AcPowerFlowResult {
  const tolerance = options.tolerancePu ?? 1e-8;
  const maxIterations = options.maxIterations ?? 10;
  const n = net.busIds.length;
  const m = net.from.length;
  const base = net.baseMva;
  const branchOn = net.branchInService;
  const islands = findIslands(net, branchOn);
  const references = chooseReferences(net, islands, 'matpower');
  const energised = (v: number): boolean => islands.islandOf[v]! >= 0 && references[islands.islandOf[v]!]! >= 0;
  const isReference = new Uint8Array(n);
  for (const r of references) if (r >= 0) isReference[r] = 1;

  // Bus types as MATPOWER's bustypes: voltage control needs an in-service generator.
  const hasGen = new Uint8Array(n);
  const sRe = new Float64Array(n);
  const sIm = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    sRe[v] = -net.pdMw[v]! / base;
    sIm[v] = -net.qdMvar[v]! / base;
  }
  for (let g = 0; g < net.genBus.length; g++) {
    if (net.genInService[g] === 0) continue;
    const v = net.genBus[g]!;
    hasGen[v] = 1;
    sRe[v]! += net.pgMw[g]! / base;
    sIm[v]! += net.qgMvar[g]! / base;
  }
  const voltageControlled = (v: number): boolean => isReference[v] === 1 || (hasGen[v] === 1 && (net.busType[v] === BusType.PV || net.busType[v] === BusType.Reference));

  // Unknowns: the angle of every energised non-reference bus, the magnitude of every PQ bus. The
  // equation rows pair with them (P with the angle, Q with the magnitude), so the Jacobian's
  // pattern is structurally symmetric.
  const angleAt = new Int32Array(n).fill(-1);
  const magnitudeAt = new Int32Array(n).fill(-1);
  // A bus's unknowns are numbered together (SparseLu.analyseBlocks orders buses).
  const blockStart = new Int32Array(n + 1);
  let unknowns = 0;
  for (let v = 0; v < n; v++) {
    if (energised(v) && !isReference[v]) angleAt[v] = unknowns++;
    if (energised(v) && !voltageControlled(v)) magnitudeAt[v] = unknowns++;
    blockStart[v + 1] = unknowns;
  }

  // Starting point: the case's voltages, generator set points at voltage-controlled buses (the last generator listed wins, as in MATPOWER).
  const vm = new Float64Array(n);
  const va = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    if (!energised(v)) continue;
    vm[v] = net.vmPu[v]!;
    va[v] = net.vaDeg[v]! * DEG;
  }
  for (let g = 0; g < net.genBus.length; g++) {
    const v = net.genBus[g]!;
    if (net.genInService[g] !== 0 && energised(v) && voltageControlled(v)) vm[v] = net.vgPu[g]!;
  }

  const y = admittances(net, branchOn);
  const { lu, branchSlots, busSlots } = analyseJacobian(net, angleAt, magnitudeAt, blockStart);
  const values = new Float64Array(lu.entries);
  const vRe = new Float64Array(n);
  const vIm = new Float64Array(n);
  const iRe = new Float64Array(n);
  const iIm = new Float64Array(n);
  const mismatch = new Float64Array(unknowns);

  const voltages = (): void => {
    for (let v = 0; v < n; v++) {
      vRe[v] = vm[v]! * Math.cos(va[v]!);
      vIm[v] = vm[v]! * Math.sin(va[v]!);
    }
  };
  // I = Ybus·V, branch by branch (parallel branches add up as in makeYbus).
  const currents = (): void => {
    for (let v = 0; v < n; v++) {
      iRe[v] = y.diagRe[v]! * vRe[v]! - y.diagIm[v]! * vIm[v]!;
      iIm[v] = y.diagRe[v]! * vIm[v]! + y.diagIm[v]! * vRe[v]!;
    }
    for (let k = 0; k < m; k++) {
      if (branchOn[k] === 0) continue;
      const f = net.from[k]!;
      const t = net.to[k]!;
      iRe[f]! += y.ftRe[k]! * vRe[t]! - y.ftIm[k]! * vIm[t]!;
      iIm[f]! += y.ftRe[k]! * vIm[t]! + y.ftIm[k]! * vRe[t]!;
      iRe[t]! += y.tfRe[k]! * vRe[f]! - y.tfIm[k]! * vIm[f]!;
      iIm[t]! += y.tfRe[k]! * vIm[f]! + y.tfIm[k]! * vRe[f]!;
    }
  };
  /** Fills `mismatch` (S_calc − S_spec on the unknowns' rows); returns the largest |entry| and its bus. */
  const mismatches = (): { norm: number; bus: number; kind: 'P' | 'Q' } => {
    let norm = 0;
    let bus = -1;
    let kind: 'P' | 'Q' = 'P';
    for (let v = 0; v < n; v++) {
      if (angleAt[v]! < 0 && magnitudeAt[v]! < 0) continue;
      const pCalc = vRe[v]! * iRe[v]! + vIm[v]! * iIm[v]!;
      const qCalc = vIm[v]! * iRe[v]! - vRe[v]! * iIm[v]!;
      if (angleAt[v]! >= 0) {
        const dp = pCalc - sRe[v]!;
        mismatch[angleAt[v]!] = dp;
        if (!(Math.abs(dp) <= norm)) [norm, bus, kind] = [Math.abs(dp), v, 'P'];
      }
      if (magnitudeAt[v]! >= 0) {
        const dq = qCalc - sIm[v]!;
        mismatch[magnitudeAt[v]!] = dq;
        if (!(Math.abs(dq) <= norm)) [norm, bus, kind] = [Math.abs(dq), v, 'Q'];
      }
    }
    return { norm, bus, kind };
  };

  voltages();
  currents();
  let worst = mismatches();
  let iterations = 0;
  while (!(worst.norm < tolerance)) {
    if (iterations >= maxIterations || !Number.isFinite(worst.norm)) {
      const where = worst.bus >= 0 ? net.busIds[worst.bus]! : null;
      throw new AcPowerFlowError(
        `AC power flow of ${net.name} did not converge in ${iterations} Newton iteration(s): largest mismatch ${worst.norm.toExponential(3)} pu (${worst.kind}) at ${where ?? 'an unknown bus'}, tolerance ${tolerance}`,
        iterations,
        worst.norm,
        where,
      );
    }
    iterations++;
    fillJacobian(net, y, vRe, vIm, iRe, iIm, vm, branchSlots, busSlots, values);
    try {
      lu.factor(values);
    } catch (error) {
      if (!(error instanceof SingularMatrixError)) throw error;
      const bus = busOfUnknown(error.node, angleAt, magnitudeAt);
      throw new AcPowerFlowError(
        `AC power flow of ${net.name}: the Jacobian is singular at iteration ${iterations} (the ${bus.kind} of ${net.busIds[bus.bus]}; pivot ${error.pivot}); largest mismatch ${worst.norm.toExponential(3)} pu at ${net.busIds[worst.bus] ?? 'an unknown bus'}`,
        iterations,
        worst.norm,
        net.busIds[bus.bus] ?? null,
      );
    }
    const dx = lu.solve(mismatch);
    // J·dx = mismatch, and the step is −dx.
    for (let v = 0; v < n; v++) {
      if (angleAt[v]! >= 0) va[v]! -= dx[angleAt[v]!]!;
      if (magnitudeAt[v]! >= 0) vm[v]! -= dx[magnitudeAt[v]!]!;
    }
    voltages();
    currents();
    worst = mismatches();
  }

  return solution(net, y, { vm, va, vRe, vIm, iRe, iIm }, islands, references, energised, iterations, worst.norm);
}

function busOfUnknown(unknown: number, angleAt: Int32Array, magnitudeAt: Int32Array): { bus: number; kind: string } {
  for (let v = 0; v < angleAt.length; v++) {
    if (angleAt[v] === unknown) return { bus: v, kind: 'angle' };
    if (magnitudeAt[v] === unknown) return { bus: v, kind: 'voltage magnitude' };
  }
  return { bus: -1, kind: 'unknown' };
}

/**
 * Slots of the Jacobian entries in SparseLu's value layout: per branch the 8 couplings between its
 * ends' unknowns ([θf,θt], [θf,Vt], [Vf,θt], [Vf,Vt], then t→f likewise), per bus the 4 of its own
 * (θθ, θV, Vθ, VV); -1 where an unknown is absent (a PV bus has no V, a reference neither).
 */
function analyseJacobian(net: GridNetwork, angleAt: Int32Array, magnitudeAt: Int32Array, blockStart: Int32Array): { lu: SparseLu; branchSlots: Int32Array; busSlots: Int32Array } {
  const n = net.busIds.length;
  const m = net.from.length;
  // The bus graph of the in-service branches between buses with unknowns.
  const from: number[] = [];
  const to: number[] = [];
  const hasUnknowns = (v: number): boolean => blockStart[v + 1]! > blockStart[v]!;
  for (let k = 0; k < m; k++) {
    if (net.branchInService[k] === 0 || !hasUnknowns(net.from[k]!) || !hasUnknowns(net.to[k]!)) continue;
    from.push(net.from[k]!);
    to.push(net.to[k]!);
  }
  const lu = SparseLu.analyseBlocks(n, Int32Array.from(from), Int32Array.from(to), blockStart);
  const at = (i: number, j: number): number => (i >= 0 && j >= 0 ? lu.entry(i, j) : -1);
  const branchSlots = new Int32Array(8 * m).fill(-1);
  for (let k = 0; k < m; k++) {
    if (net.branchInService[k] === 0) continue;
    const f = net.from[k]!;
    const t = net.to[k]!;
    for (const [o, i, j] of [
      [0, f, t],
      [4, t, f],
    ] as const) {
      branchSlots[8 * k + o] = at(angleAt[i]!, angleAt[j]!);
      branchSlots[8 * k + o + 1] = at(angleAt[i]!, magnitudeAt[j]!);
      branchSlots[8 * k + o + 2] = at(magnitudeAt[i]!, angleAt[j]!);
      branchSlots[8 * k + o + 3] = at(magnitudeAt[i]!, magnitudeAt[j]!);
    }
  }
  const busSlots = new Int32Array(4 * n).fill(-1);
  for (let v = 0; v < n; v++) {
    busSlots[4 * v] = at(angleAt[v]!, angleAt[v]!);
    busSlots[4 * v + 1] = at(angleAt[v]!, magnitudeAt[v]!);
    busSlots[4 * v + 2] = at(magnitudeAt[v]!, angleAt[v]!);
    busSlots[4 * v + 3] = at(magnitudeAt[v]!, magnitudeAt[v]!);
  }
  return { lu, branchSlots, busSlots };
}

/**
 * The polar Jacobian of MATPOWER's dSbus_dV, entry by entry:
 *   ∂S_i/∂θ_j = −j·V_i·conj(Y_ij·V_j) (i ≠ j),   ∂S_i/∂θ_i = j·V_i·conj(I_i) − j·V_i·conj(Y_ii·V_i),
 *   ∂S_i/∂|V_j| = V_i·conj(Y_ij·V_j/|V_j|),      ∂S_i/∂|V_i| gets conj(I_i)·V_i/|V_i| besides;
 * P rows take the real parts, Q rows the imaginary parts.
 */
function fillJacobian(
  net: GridNetwork,
  y: Admittances,
  vRe: Float64Array,
  vIm: Float64Array,
  iRe: Float64Array,
  iIm: Float64Array,
  vm: Float64Array,
  branchSlots: Int32Array,
  busSlots: Int32Array,
  values: Float64Array,
): void {
  values.fill(0);
  // Adds the four real entries of the coupling of bus i's equations with bus j's unknowns through Y_ij.
  const couple = (slot: number, i: number, j: number, yRe: number, yIm: number, slots: Int32Array): void => {
    const cRe = yRe * vRe[j]! - yIm * vIm[j]!;
    const cIm = yRe * vIm[j]! + yIm * vRe[j]!;
    // V_i·conj(c)
    const pRe = vRe[i]! * cRe + vIm[i]! * cIm;
    const pIm = vIm[i]! * cRe - vRe[i]! * cIm;
    // ∂S/∂θ_j = −j·(pRe + j·pIm) = pIm − j·pRe;  ∂S/∂|V_j| = (pRe + j·pIm)/|V_j|.
    const inv = 1 / vm[j]!;
    if (slots[slot]! >= 0) values[slots[slot]!]! += pIm;
    if (slots[slot + 1]! >= 0) values[slots[slot + 1]!]! += pRe * inv;
    if (slots[slot + 2]! >= 0) values[slots[slot + 2]!]! += -pRe;
    if (slots[slot + 3]! >= 0) values[slots[slot + 3]!]! += pIm * inv;
  };
  for (let k = 0; k < net.from.length; k++) {
    if (net.branchInService[k] === 0) continue;
    const f = net.from[k]!;
    const t = net.to[k]!;
    couple(8 * k, f, t, y.ftRe[k]!, y.ftIm[k]!, branchSlots);
    couple(8 * k + 4, t, f, y.tfRe[k]!, y.tfIm[k]!, branchSlots);
  }
  for (let v = 0; v < vRe.length; v++) {
    if (busSlots[4 * v]! < 0 && busSlots[4 * v + 3]! < 0) continue;
    couple(4 * v, v, v, y.diagRe[v]!, y.diagIm[v]!, busSlots);
    // S_i = V_i·conj(I_i): ∂S_i/∂θ_i += j·S_i; ∂S_i/∂|V_i| += conj(I_i)·V_i/|V_i|.
    const sRe = vRe[v]! * iRe[v]! + vIm[v]! * iIm[v]!;
    const sIm = vIm[v]! * iRe[v]! - vRe[v]! * iIm[v]!;
    const inv = 1 / vm[v]!;
    if (busSlots[4 * v]! >= 0) values[busSlots[4 * v]!]! += -sIm;
    if (busSlots[4 * v + 1]! >= 0) values[busSlots[4 * v + 1]!]! += sRe * inv;
    if (busSlots[4 * v + 2]! >= 0) values[busSlots[4 * v + 2]!]! += sRe;
    if (busSlots[4 * v + 3]! >= 0) values[busSlots[4 * v + 3]!]! += sIm * inv;
  }
}

/** pfsoln: branch flows, the reference generators' P, the generators' Q per bus, totals. */
function solution(
  net: GridNetwork,
  y: Admittances,
  state: { vm: Float64Array; va: Float64Array; vRe: Float64Array; vIm: Float64Array; iRe: Float64Array; iIm: Float64Array },
  islands: Islands,
  references: Int32Array,
  energised: (v: number) => boolean,
  iterations: number,
  maxMismatchPu: number,
): AcPowerFlowResult {
  const { vm, va, vRe, vIm, iRe, iIm } = state;
  const n = net.busIds.length;
  const m = net.from.length;
  const base = net.baseMva;
  const pFromMw = new Float64Array(m);
  const qFromMvar = new Float64Array(m);
  const pToMw = new Float64Array(m);
  const qToMvar = new Float64Array(m);
  let lossesMw = 0;
  for (let k = 0; k < m; k++) {
    if (net.branchInService[k] === 0) continue;
    const f = net.from[k]!;
    const t = net.to[k]!;
    if (!energised(f)) continue;
    // I_f = Y_ff·V_f + Y_ft·V_t; S_f = V_f·conj(I_f).
    const ifRe = y.ffRe[k]! * vRe[f]! - y.ffIm[k]! * vIm[f]! + y.ftRe[k]! * vRe[t]! - y.ftIm[k]! * vIm[t]!;
    const ifIm = y.ffRe[k]! * vIm[f]! + y.ffIm[k]! * vRe[f]! + y.ftRe[k]! * vIm[t]! + y.ftIm[k]! * vRe[t]!;
    const itRe = y.tfRe[k]! * vRe[f]! - y.tfIm[k]! * vIm[f]! + y.ttRe[k]! * vRe[t]! - y.ttIm[k]! * vIm[t]!;
    const itIm = y.tfRe[k]! * vIm[f]! + y.tfIm[k]! * vRe[f]! + y.ttRe[k]! * vIm[t]! + y.ttIm[k]! * vRe[t]!;
    pFromMw[k] = base * (vRe[f]! * ifRe + vIm[f]! * ifIm);
    qFromMvar[k] = base * (vIm[f]! * ifRe - vRe[f]! * ifIm);
    pToMw[k] = base * (vRe[t]! * itRe + vIm[t]! * itIm);
    qToMvar[k] = base * (vIm[t]! * itRe - vRe[t]! * itIm);
    lossesMw += pFromMw[k]! + pToMw[k]!;
  }
  // Generators: Q at every bus with in-service generators, from the injection it computes; the
  // reference bus's first generator takes the balance of P (the others keep their Pg).
  const pgMw = Float64Array.from(net.pgMw);
  const busQgMvar = new Float64Array(n);
  const firstGenAt = new Int32Array(n).fill(-1);
  for (let g = 0; g < net.genBus.length; g++) {
    const v = net.genBus[g]!;
    if (net.genInService[g] === 0) continue;
    if (!energised(v)) {
      pgMw[g] = 0;
      continue;
    }
    if (firstGenAt[v]! < 0) firstGenAt[v] = g;
    busQgMvar[v] = base * (vIm[v]! * iRe[v]! - vRe[v]! * iIm[v]!) + net.qdMvar[v]!;
  }
  for (const r of references) {
    if (r < 0) continue;
    const first = firstGenAt[r]!;
    let others = 0;
    for (let g = 0; g < net.genBus.length; g++) if (g !== first && net.genBus[g] === r && net.genInService[g] !== 0) others += net.pgMw[g]!;
    pgMw[first] = base * (vRe[r]! * iRe[r]! + vIm[r]! * iIm[r]!) + net.pdMw[r]! - others;
  }
  let totalLoadMw = 0;
  let unservedLoadMw = 0;
  let shuntMw = 0;
  for (let v = 0; v < n; v++) {
    if (energised(v)) {
      totalLoadMw += net.pdMw[v]!;
      shuntMw += net.gsMw[v]! * vm[v]! * vm[v]!;
    } else if (islands.islandOf[v]! >= 0) unservedLoadMw += net.pdMw[v]!;
  }
  let totalGenerationMw = 0;
  for (let g = 0; g < net.genBus.length; g++) if (net.genInService[g] !== 0 && energised(net.genBus[g]!)) totalGenerationMw += pgMw[g]!;
  const vaDeg = Float64Array.from(va, (a) => a / DEG);
  return { vmPu: vm, vaDeg, pFromMw, qFromMvar, pToMw, qToMvar, pgMw, busQgMvar, islands, references, iterations, converged: true, maxMismatchPu, totalLoadMw, totalGenerationMw, lossesMw, shuntMw, unservedLoadMw };
}
