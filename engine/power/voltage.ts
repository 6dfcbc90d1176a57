/**
 * How a bus's voltage magnitude degrades the service of what it feeds (the `voltage` input, which
 * the live voltage monitor sends after each AC power flow; README "Live voltage monitor").
 *
 * The rule, with the bus's limits [Vmin, Vmax] from the case (VMIN, VMAX):
 * - Vmin ≤ Vm ≤ Vmax → 1 (full service);
 * - Vm < Vmin → the served share falls linearly from 1 at Vmin to 0 at the undervoltage floor
 *   UNDERVOLTAGE_FLOOR × Vmin (motors stall, undervoltage relays drop load), 0 below it;
 * - Vm > Vmax → falls linearly from 1 at Vmax to 0 at OVERVOLTAGE_CEILING × Vmax (overvoltage
 *   protection disconnects equipment), 0 above it;
 * - Vm = 0 → 0: the monitor's mark of a voltage collapse (its AC power flow did not converge).
 * A bus without limits in its city is held to DEFAULT_VMIN_PU–DEFAULT_VMAX_PU (`voltageLimits`);
 * `voltageServiceLevel` itself reads a NaN limit as no bound on its side.
 */
import type { CityIndex } from '../city-index.ts';
import { UnknownTargetError, ValidationError } from '../errors.ts';

/** Below UNDERVOLTAGE_FLOOR × Vmin nothing is served. */
export const UNDERVOLTAGE_FLOOR = 0.85;
/** Above OVERVOLTAGE_CEILING × Vmax nothing is served. */
export const OVERVOLTAGE_CEILING = 1.15;

/** The service share 0..1 a bus gives at voltage `vmPu` with limits `vminPu`, `vmaxPu` (NaN: none). */
export function voltageServiceLevel(vmPu: number, vminPu: number, vmaxPu: number): number {
  if (!(vmPu > 0)) return 0;
  if (vminPu > 0 && vmPu < vminPu) {
    const floor = UNDERVOLTAGE_FLOOR * vminPu;
    return Math.max(0, (vmPu - floor) / (vminPu - floor));
  }
  if (vmaxPu > 0 && vmPu > vmaxPu) {
    const ceiling = OVERVOLTAGE_CEILING * vmaxPu;
    return Math.max(0, (ceiling - vmPu) / (ceiling - vmaxPu));
  }
  return 1;
}

/** Whether `vmPu` lies outside the limits (a collapse, 0, always does). */
export function voltageOutside(vmPu: number, vminPu: number, vmaxPu: number): boolean {
  return !(vmPu > 0) || (vminPu > 0 && vmPu < vminPu) || (vmaxPu > 0 && vmPu > vmaxPu);
}

/**
 * The one actor a `voltage` input reaches: its target must be one asset id (no selector) of a bus
 * with electrical fields. @throws UnknownTargetError for an unknown id, ValidationError otherwise.
 */
export function voltageTarget(index: CityIndex, target: string): number {
  const actor = index.indexOf(target);
  if (actor === undefined) throw new UnknownTargetError(`voltage: unknown asset "${target}" (a voltage input targets one bus by id)`);
  const electrical = actor < index.assetCount ? index.city.assets[actor]!.electrical : undefined;
  if (electrical?.kind !== 'bus') {
    throw new ValidationError('voltage', [{ path: '$.target', reason: `"${target}" is not a bus with electrical fields (a voltage input targets a bus, electrical.kind "bus")` }]);
  }
  return actor;
}

/**
 * Limits of a bus whose city gives none (a generated grid; a case with VMIN/VMAX 0): 0.9–1.1 pu, the
 * wide band (ANSI C84.1 range B is 0.917–1.058 at the service entrance) that planning studies use.
 */
export const DEFAULT_VMIN_PU = 0.9;
export const DEFAULT_VMAX_PU = 1.1;

/** The limits a bus is held to: its own where given (> 0), else the defaults. */
export function voltageLimits(vminPu: number | undefined, vmaxPu: number | undefined): { readonly vminPu: number; readonly vmaxPu: number } {
  return { vminPu: vminPu !== undefined && vminPu > 0 ? vminPu : DEFAULT_VMIN_PU, vmaxPu: vmaxPu !== undefined && vmaxPu > 0 ? vmaxPu : DEFAULT_VMAX_PU };
}

/** The limits bus actor `actor` is held to (`voltageLimits` of its electrical fields). */
export function busVoltageLimits(index: CityIndex, actor: number): { readonly vminPu: number; readonly vmaxPu: number } {
  const e = index.city.assets[actor]?.electrical;
  return e?.kind === 'bus' ? voltageLimits(e.vminPu, e.vmaxPu) : voltageLimits(undefined, undefined);
}
