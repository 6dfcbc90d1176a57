import { useEffect, useState } from 'react';
import { useTwin, useTwinStore } from '../context.ts';
import { STATUS_CSS } from '../colors.ts';
import { mayOperate } from '../model.ts';
import type { TwinClient } from '../net/client.ts';
import { useRequest } from './actions.tsx';

/** What `GET /api/assets/:id` carries in `details.estimate` when the live estimator reads the asset. */
interface AssetEstimate {
  readonly sensor: 'flow' | 'load' | 'generation';
  readonly valueMw: number | null;
  readonly sigmaMw: number | null;
  readonly readingMw: number | null;
  readonly normalizedResidual: number | null;
  readonly excluded: boolean;
  readonly trust: { readonly score: number; readonly reasons: readonly string[] };
}

interface PendingAction {
  readonly id: number;
  readonly command: { readonly type: string; readonly target: string; readonly share?: number };
  readonly requestedBy: string;
  readonly role: string;
  readonly reason: string;
}

/** The gate's colours: PASS ≥ 70 as ok, HOLD 40–69 as degraded, BLOCK < 40 as failed. */
export function trustColour(score: number): string {
  return score >= 70 ? STATUS_CSS[0]! : score >= 40 ? STATUS_CSS[1]! : STATUS_CSS[2]!;
}

function usePolled<T>(fetch: () => Promise<T>, everyMs: number, key: string): T | null {
  const [value, setValue] = useState<T | null>(null);
  useEffect(() => {
    let live = true;
    const load = (): void => {
      fetch()
        .then((v) => live && setValue(v))
        .catch(() => live && setValue(null));
    };
    load();
    const id = setInterval(load, everyMs);
    return () => {
      live = false;
      clearInterval(id);
    };
    // `fetch` is rebuilt each render; `key` names what it fetches.
  }, [key, everyMs]);
  return value;
}

/**
 * The state estimator's view of an inspected power asset: the estimated value with its σ (what the
 * twin shows), the raw reading, the normalised residual and the trust score in the gate's colour,
 * refreshed by the `estimation` stream event.
 * Nothing shows for an asset the estimator does not read (or with the estimator off).
 */
export function EstimateReadings({ client, id }: { client: TwinClient; id: string }) {
  // Refetched on every estimator run (the `estimation` stream event), and every 5 s for the trust's freshness.
  const runs = useTwin((s) => s.estimationRuns);
  const reply = usePolled(() => client.get<{ details?: { estimate?: AssetEstimate } }>(`/api/assets/${encodeURIComponent(id)}`), 5000, `${id}@${runs}`);
  const e = reply?.details?.estimate;
  if (e === undefined) return null;
  const what = e.sensor === 'flow' ? '|Flow|' : e.sensor === 'load' ? 'Load' : 'Output';
  return (
    <>
      <h3>State estimate</h3>
      <dl className="state" data-testid="estimate">
        <dt>{what}</dt>
        <dd data-testid="estimate-value">{e.valueMw === null ? 'not estimated' : `${e.valueMw.toFixed(2)} ± ${(e.sigmaMw ?? 0).toFixed(2)} MW`}</dd>
        <dt>Reading</dt>
        <dd>
          {e.readingMw === null ? 'none' : `${e.readingMw.toFixed(2)} MW`}
          {e.excluded ? ' · excluded as bad data' : e.normalizedResidual === null ? '' : ` · |r_N| ${e.normalizedResidual.toFixed(1)}`}
        </dd>
        <dt>Trust</dt>
        <dd data-testid="estimate-trust" data-score={e.trust.score} title={e.trust.reasons.join('; ') || 'no doubts'}>
          <span className="dot" style={{ background: trustColour(e.trust.score) }} aria-hidden="true" /> {e.trust.score} {e.trust.score >= 70 ? 'PASS' : e.trust.score >= 40 ? 'HOLD' : 'BLOCK'}
        </dd>
      </dl>
    </>
  );
}

/** Telemetry alerts (bad data from the state estimator; at risk and untrusted from the monitor), newest first. */
export function TelemetryAlerts() {
  const store = useTwinStore();
  const alerts = useTwin((s) => s.alerts);
  const telemetry = alerts.filter((a) => a.cause === 'telemetry' && a.detail !== undefined).slice(0, 8);
  if (telemetry.length === 0) return null;
  return (
    <section className="panel alerts" aria-label="Telemetry alerts" data-testid="telemetry-alerts">
      <h2>Telemetry alerts</h2>
      <ol>
        {telemetry.map((a, i) => {
          const kind = /^bad data:/.test(a.detail!) ? 'bad data' : /at risk/.test(a.detail!) ? 'at risk' : /cleared/.test(a.detail!) ? 'cleared' : 'telemetry';
          const colour = kind === 'cleared' ? STATUS_CSS[0]! : kind === 'at risk' ? STATUS_CSS[1]! : STATUS_CSS[2]!;
          return (
            <li key={`${a.actor}-${a.time}-${i}`} data-kind={kind}>
              <button type="button" className="link" onClick={() => store.select(a.actor)} title={`Inspect ${a.id}`}>
                <span className="dot" style={{ background: colour }} aria-hidden="true" /> {a.id} <small>{kind} ← {a.causedBy}</small>
              </button>
              <div>
                <small>{a.detail}</small>
              </div>
            </li>
          );
        })}
      </ol>
    </section>
  );
}

/**
 * The operator's queue: pending actions — held by the trust gate (automation on data trusted 40–69)
 * or requested by a person for a guarded action — with Approve and Refuse. Operators and admins only.
 */
export function HeldActions({ client }: { client: TwinClient }) {
  const role = useTwin((s) => s.role);
  const store = useTwinStore();
  const [version, setVersion] = useState(0);
  const { busy, run } = useRequest();
  const reply = usePolled(() => client.get<{ pending: readonly PendingAction[] }>('/api/actions/guarded'), 2000, `held-${version}`);
  if (!mayOperate(role) || reply === null || reply.pending.length === 0) return null;
  const decide = async (p: PendingAction, verdict: 'approve' | 'refuse'): Promise<void> => {
    const what = `${verdict === 'approve' ? 'Approve' : 'Refuse'} ${p.command.type} of ${p.command.target}`;
    if (await run(what, () => client.post(`/api/actions/${p.id}/${verdict}`, verdict === 'refuse' ? { reason: 'refused by the operator' } : undefined))) store.notify('info', `${what}: done`);
    setVersion((v) => v + 1);
  };
  return (
    <section className="panel held-actions" aria-label="Operator's queue" data-testid="held-actions">
      <h2>Operator's queue</h2>
      <ol>
        {reply.pending.map((p) => (
          <li key={p.id} data-testid={`held-${p.id}`}>
            <strong>
              {p.command.type}
              {p.command.share === undefined ? '' : ` ${Math.round(p.command.share * 100)}%`} {p.command.target}
            </strong>{' '}
            <small>{p.requestedBy === 'trust-gate' ? 'held by the trust gate' : `requested by ${p.requestedBy}`}</small>
            {p.reason !== '' && (
              <div>
                <small>{p.reason}</small>
              </div>
            )}
            <div className="actions" role="group" aria-label={`Decide on action ${p.id}`}>
              <button type="button" disabled={busy} onClick={() => void decide(p, 'approve')} data-testid={`approve-${p.id}`}>
                Approve
              </button>
              <button type="button" disabled={busy} onClick={() => void decide(p, 'refuse')} data-testid={`refuse-${p.id}`}>
                Refuse
              </button>
            </div>
          </li>
        ))}
      </ol>
    </section>
  );
}
