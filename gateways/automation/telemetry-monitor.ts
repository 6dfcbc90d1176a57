import { TelemetryMonitor, type Engine, type MonitorAlert, type MonitorOptions } from '../../engine/index.ts';
import type { ActionGuard, Ledger } from '../../scenarios/index.ts';
import { autoShed } from './auto-shed.ts';
import type { Control } from '../door/index.ts';
import { WIRE_STATUS_NAMES, type Alert } from '../protocol.ts';
import { ESTIMATE_SOURCE, type LiveEstimator } from './live-estimator.ts';

export interface TelemetryMonitorSettings extends Omit<MonitorOptions, 'ratingOf'> {
  /** Virtual seconds between assessments (default 10). */
  readonly assessEveryS?: number;
  /** Hears every assessment's new monitor alerts (automatic load shedding). */
  readonly onAlerts?: (alerts: readonly MonitorAlert[], monitor: TelemetryMonitor, nowS: number) => void;
}

export interface AttachedTelemetryMonitor {
  readonly monitor: TelemetryMonitor;
  /** Takes the journal's telemetry that is due by `virtualMs` (default: the engine's clock), and assesses when `assessEveryS` of virtual time passed. */
  tick(virtualMs?: number): void;
  detach(): void;
}

/**
 * Attaches the telemetry monitor to a live engine: after every advance (`onAdvance`), the telemetry
 * inputs journalled and due by then become readings of their asset's feed (at the input's virtual
 * time); every `assessEveryS` virtual seconds the monitor scores the feeds and its new alerts
 * (at risk, untrusted) go to `raise` as ordinary alerts (cause `telemetry`, causedBy
 * `telemetry-monitor`, the sentence in `detail`). The rating of an asset is its capacity.
 *
 * @example
 * const off = attachTelemetryMonitor(engine, runner, (alerts) => hub.raise(alerts)).detach;
 */
export function attachTelemetryMonitor(
  engine: Engine,
  advances: { onAdvance(listener: (virtualMs: number) => void): () => void },
  raise: (alerts: Alert[]) => void,
  settings: TelemetryMonitorSettings = {},
  estimator?: Pick<LiveEstimator, 'residualOf'>,
): AttachedTelemetryMonitor {
  const index = engine.index;
  const { assessEveryS = 10, onAlerts, ...monitorOptions } = settings;
  const monitor = new TelemetryMonitor({
    ...monitorOptions,
    ratingOf: (id) => {
      const actor = index.indexOf(id);
      return actor === undefined || actor >= index.assetCount ? undefined : index.capacity[actor];
    },
    ...(estimator === undefined ? {} : { residualOf: (id: string) => estimator.residualOf(id) }),
  });
  let cursor = 0;
  let lastAssessS = Number.NEGATIVE_INFINITY;
  const toAlert = (a: MonitorAlert): Alert | undefined => monitorAlert(engine, a.asset, a.atS, a.message);
  // Telemetry journalled for a later virtual time (a scenario's future events) waits until it is due.
  let pending: Array<{ time: number; seq: number; target: string; value: number }> = [];
  const tick = (virtualMs?: number): void => {
    const nowMs = Math.max(engine.now, virtualMs ?? 0);
    // Only the entries since the last tick, from memory: `entries` would read a durable journal's
    // whole file. Entries only the file still holds (before a restart's snapshot, or trimmed while
    // the monitor lagged) are skipped: the monitor watches recent telemetry.
    cursor = Math.max(cursor, engine.journal.length - engine.journal.retained);
    const fresh = cursor < engine.journal.length ? engine.journal.since(cursor) : [];
    cursor += fresh.length;
    for (const { command, time, seq, source } of fresh) {
      // The live estimator's own values are not readings (it judges the readings: residualOf).
      if (command.type !== 'telemetry' || source === ESTIMATE_SOURCE) continue;
      const actor = index.indexOf(command.target);
      if (actor !== undefined && actor < index.assetCount) pending.push({ time, seq, target: command.target, value: command.value });
    }
    if (pending.length > 0) {
      const due = pending.filter((p) => p.time <= nowMs).sort((a, b) => a.time - b.time || a.seq - b.seq);
      if (due.length > 0) {
        pending = pending.filter((p) => p.time > nowMs);
        for (const p of due) monitor.observe(p.target, p.time / 1000, p.value);
      }
    }
    const nowS = nowMs / 1000;
    if (nowS - lastAssessS < assessEveryS) return;
    lastAssessS = nowS;
    const found = monitor.assess(nowS);
    const alerts = found.flatMap((a) => toAlert(a) ?? []);
    if (alerts.length > 0) raise(alerts);
    if (found.length > 0) onAlerts?.(found, monitor, nowS);
  };
  const off = advances.onAdvance(tick);
  return { monitor, tick, detach: off };
}

/** An alert of the live channel about an asset from the telemetry monitor, or another telemetry service (undefined: not an asset). */
export function monitorAlert(engine: Engine, asset: string, atS: number, detail: string, causedBy = 'telemetry-monitor'): Alert | undefined {
  const index = engine.index;
  const actor = index.indexOf(asset);
  if (actor === undefined || actor >= index.assetCount) return undefined;
  return {
    time: Math.round(atS * 1000),
    actor,
    id: asset,
    layer: index.layerName(actor),
    status: WIRE_STATUS_NAMES[engine.kernel.statusOf(actor)] ?? 'ok',
    cause: 'telemetry',
    causedBy,
    detail,
  };
}

/**
 * `STRATUM_TELEMETRY_MONITOR=1` attaches the monitor (opt-in); `STRATUM_TELEMETRY_INTERVAL_S` is a
 * healthy feed's reading interval (default 60) and `STRATUM_TELEMETRY_HORIZON_S` the at-risk horizon
 * (default 3600). `STRATUM_AUTO_SHED=1` (with the monitor on and `automation` given) adds automatic
 * load shedding behind the trust gate (`auto-shed.ts`), shedding `STRATUM_AUTO_SHED_SHARE` (default
 * 0.2) of an overloaded asset's demand. Returns the detach function (a no-op when off).
 *
 * @throws RangeError naming the variable when a value is not a positive number.
 */
export function telemetryMonitorFromEnv(
  env: NodeJS.ProcessEnv,
  engine: Engine,
  advances: { onAdvance(listener: (virtualMs: number) => void): () => void },
  raise: (alerts: Alert[]) => void,
  automation?: { readonly control: Control; readonly guard: ActionGuard; readonly ledger: Ledger },
  estimator?: Pick<LiveEstimator, 'residualOf'>,
): () => void {
  if (env['STRATUM_TELEMETRY_MONITOR'] !== '1') return () => undefined;
  const positive = (name: string, fallback: number): number => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    const x = Number(text);
    if (!(Number.isFinite(x) && x > 0)) throw new RangeError(`${name} must be a positive number (got "${text}")`);
    return x;
  };
  const share = positive('STRATUM_AUTO_SHED_SHARE', 0.2);
  if (!(share <= 1)) throw new RangeError(`STRATUM_AUTO_SHED_SHARE must be a share in (0, 1] (got "${env['STRATUM_AUTO_SHED_SHARE']}")`);
  const refused = (asset: string, atS: number, detail: string): void => {
    const alert = monitorAlert(engine, asset, atS, detail);
    if (alert !== undefined) raise([alert]);
  };
  const shed = env['STRATUM_AUTO_SHED'] === '1' && automation !== undefined ? autoShed({ ...automation, share, refused }) : undefined;
  return attachTelemetryMonitor(engine, advances, raise, {
    expectedIntervalS: positive('STRATUM_TELEMETRY_INTERVAL_S', 60),
    horizonS: positive('STRATUM_TELEMETRY_HORIZON_S', 3600),
    ...(shed === undefined ? {} : { onAlerts: (alerts: readonly MonitorAlert[], monitor: TelemetryMonitor, nowS: number) => void shed(alerts, monitor, nowS) }),
  }, estimator).detach;
}
