import { ConflictError, type GateDecision, type MonitorAlert, type TelemetryMonitor } from '../../engine/index.ts';
import { recordGateDecision, type ActionGuard, type Ledger } from '../../scenarios/index.ts';
import type { Principal, Control } from '../door/index.ts';

/** Who automatic actions are journalled and audited as (operator rights, through the one door). */
export const AUTOMATION: Principal = { name: 'automation', role: 'operator', tokenHash: '' };

export interface AutoShedContext {
  readonly control: Control;
  readonly guard: ActionGuard;
  readonly ledger: Ledger;
  /** Share of the asset's demand to shed (default 0.2). */
  readonly share?: number;
  /** An operator-facing sentence for a refused action (raised as an alert on the asset). */
  readonly refused: (asset: string, atS: number, detail: string) => void;
}

/**
 * Automatic load shedding behind the trust gate: on an `overload` alert of the telemetry monitor
 * (the latest reading at or above the asset's rating), automation wants to shed `share` of the
 * asset's demand. The gate decides on the feed's trust and the decision goes to the ledger (kind
 * `gate`): PASS sheds through the door (`Control.operate` as `automation`; when `shed` is guarded,
 * or the asset's state refuses it, the action is requested instead / recorded as refused); HOLD
 * queues it in the operator's approval list (`ActionGuard.request`, requested by `trust-gate` with
 * role `automation`, so any operator, trainer or admin may approve it); BLOCK refuses and alerts.
 *
 * @example
 * attachTelemetryMonitor(engine, runner, raise, { onAlerts: autoShed({ control, guard, ledger, refused }) });
 */
export function autoShed(ctx: AutoShedContext): (alerts: readonly MonitorAlert[], monitor: TelemetryMonitor, nowS: number) => GateDecision[] {
  const share = ctx.share ?? 0.2;
  return (alerts, monitor, nowS) => {
    const decisions: GateDecision[] = [];
    for (const alert of alerts) {
      if (alert.kind !== 'overload') continue;
      const decision = monitor.gate('shed', alert.asset, nowS);
      recordGateDecision(ctx.ledger, decision);
      decisions.push(decision);
      const command = { type: 'shed' as const, target: alert.asset, share };
      const reason = `automatic shed: ${alert.message}; trust ${decision.trust} (${decision.verdict})${decision.reasons.length > 0 ? `: ${decision.reasons.join('; ')}` : ''}`;
      if (decision.outcome === 'act') {
        try {
          ctx.control.operate(AUTOMATION, 'shed', alert.asset, share, 'automation');
        } catch (error) {
          if (!(error instanceof ConflictError)) throw error;
          // Guarded by an admin, or not possible in the asset's state: a person decides.
          if (/is guarded/.test(error.message)) ctx.guard.request(command, 'trust-gate', 'automation', reason);
          else ctx.refused(alert.asset, nowS, `automatic shed of ${alert.asset} not possible: ${error.message}`);
        }
      } else if (decision.outcome === 'ask-operator') ctx.guard.request(command, 'trust-gate', 'automation', reason);
      else ctx.refused(alert.asset, nowS, `automatic shed of ${alert.asset} refused: ${reason}`);
    }
    return decisions;
  };
}
