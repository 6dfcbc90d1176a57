import { WaterSolverBehaviour, DEFAULT_WATER_SOLVER, type WaterSolverState } from '../../actors/index.ts';
import type { Engine } from '../../engine/index.ts';
import { WIRE_STATUS_NAMES, type Alert } from '../protocol.ts';

/** Environment variable: the tank at-risk horizon in minutes (overrides the city's `epanet.tankAlertHorizonSeconds`). */
export const TANK_HORIZON_ENV = 'STRATUM_TANK_HORIZON_MIN';

/**
 * The tank at-risk horizon of a served city, seconds: `STRATUM_TANK_HORIZON_MIN` (minutes, > 0)
 * when set, else the city's `epanet.tankAlertHorizonSeconds`, else the solver's default (6 h).
 * @throws RangeError naming the variable when it is not a positive number.
 */
export function tankHorizonSeconds(env: NodeJS.ProcessEnv, engine: Engine): number {
  const raw = env[TANK_HORIZON_ENV];
  if (raw !== undefined && raw.trim() !== '') {
    const minutes = Number(raw);
    if (!(Number.isFinite(minutes) && minutes > 0)) throw new RangeError(`${TANK_HORIZON_ENV} must be a positive number of minutes (got "${raw}")`);
    return minutes * 60;
  }
  return engine.index.city.epanet?.tankAlertHorizonSeconds ?? DEFAULT_WATER_SOLVER.tankAlertHorizonSeconds;
}

function hours(seconds: number): string {
  return seconds >= 3600 ? `${(seconds / 3600).toFixed(1)} h` : `${Math.max(1, Math.round(seconds / 60))} min`;
}

/**
 * Raises an at-risk alert on the live alert channel when a tank of the hydraulic water solver is
 * forecast to reach its minimum level within the horizon (at the last snapshot's outflow). Checked
 * after every engine advance, but only when the solver has solved again; a tank is alerted once
 * until it leaves the horizon (refilled, or its outflow slowed), then again if it re-enters it. The
 * alert names the tank's asset (a generated city's district tank: its pumping station), cause
 * `hydraulics`, causedBy `water-solver`, the time left in `secondsLeft` and in the sentence.
 * A city without an EPANET network gets nothing attached. Returns the detach function.
 *
 * @example
 * const off = attachTankAlerts(engine, runner, (alerts) => hub.raise(alerts), 3600);
 */
export function attachTankAlerts(
  engine: Engine,
  advances: { onAdvance(listener: (virtualMs: number) => void): () => void },
  raise: (alerts: Alert[]) => void,
  horizonSeconds: number,
): () => void {
  const index = engine.index;
  const solvers: { actor: number; behaviour: WaterSolverBehaviour }[] = [];
  for (let actor = index.assetCount + index.cohortCount; actor < index.actorCount; actor++) {
    const behaviour = engine.kernel.behaviourOf(actor);
    if (behaviour instanceof WaterSolverBehaviour) solvers.push({ actor, behaviour });
  }
  if (solvers.length === 0) return () => undefined;
  const seenSolves = new Map<number, number>();
  const alerted = new Set<string>();
  return advances.onAdvance(() => {
    const alerts: Alert[] = [];
    for (const { actor, behaviour } of solvers) {
      const state = engine.kernel.states[actor] as WaterSolverState;
      if (seenSolves.get(actor) === state.solves) continue;
      seenSolves.set(actor, state.solves);
      for (const f of behaviour.tankForecasts(state, index)) {
        if (f.secondsToEmpty > horizonSeconds) {
          alerted.delete(f.tank);
          continue;
        }
        if (alerted.has(f.tank) || f.asset < 0) continue;
        alerted.add(f.tank);
        const left = Math.round(f.secondsToEmpty);
        alerts.push({
          time: state.solvedAt,
          actor: f.asset,
          id: index.ids[f.asset]!,
          layer: index.layerName(f.asset),
          status: WIRE_STATUS_NAMES[engine.kernel.statusOf(f.asset)] ?? 'ok',
          cause: 'hydraulics',
          causedBy: 'water-solver',
          detail: `tank ${f.tank} at risk: forecast to run dry in ${hours(left)} (level ${f.levelM.toFixed(2)} m, minimum ${f.minLevelM.toFixed(2)} m, draining ${(-f.inflowM3s * 1000).toFixed(1)} L/s)`,
          secondsLeft: left,
        });
      }
    }
    if (alerts.length > 0) raise(alerts);
  });
}
