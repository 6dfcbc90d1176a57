import { useEffect, useState } from 'react';
import { useTwin, useTwinStore } from '../context.ts';
import { row, type CityIndexUi } from '../store.ts';
import { STATUS_NAMES } from '../model.ts';
import type { OperatorRequest, TwinClient } from '../net/client.ts';
import { useRequest } from './actions.tsx';

function describe(r: OperatorRequest): string {
  const verb = r.action[0]!.toUpperCase() + r.action.slice(1);
  if (r.action === 'reroute') return `${verb} ${Math.round((r.share ?? 0) * 100)}% of ${r.target} → ${r.to}`;
  if (r.action === 'shed') return `${verb} ${Math.round((r.share ?? 0) * 100)}% at ${r.target}`;
  return `${verb} ${r.target}`;
}

/**
 * Operator actions on one asset, shown only to roles that may operate. They go where the source on
 * screen takes them (`client.operate`): the live routes, or a training session after its handover.
 */
export function OperatorActions({ client, index, actor }: { client: TwinClient; index: CityIndexUi; actor: number }) {
  const store = useTwinStore();
  const source = useTwin((s) => s.source);
  const session = useTwin((s) => s.session);
  const { busy, run: request } = useRequest();
  const [to, setTo] = useState('');
  const [share, setShare] = useState(0.3);
  const id = index.ids[actor]!;
  const linked = [...new Set(row(index.linked, actor))].filter((b) => b < index.assetCount);
  // A new asset in the inspector: its own links, no leftover target.
  useEffect(() => setTo(''), [actor]);

  const blocked = source === null ? null : session?.kind === 'training' && session.phase === 'handed-over' ? null : session?.kind === 'training' ? 'Training: actions open at the handover.' : 'Replay: operator actions are off.';
  const run = async (r: OperatorRequest): Promise<void> => {
    const what = describe(r);
    if (await request(what, () => client.operate(r))) store.notify('info', `${what} accepted${source === null ? '' : ' (training session)'}`);
  };
  const status = store.getState().fast.status;
  const lost = useTwin((s) => s.connection === 'lost');
  const off = busy || blocked !== null || lost;
  return (
    <div className="operator" data-testid="operator-actions">
      {blocked !== null && <p className="hint">{blocked}</p>}
      <div className="actions" role="group" aria-label="Operator actions">
        <button type="button" disabled={off} onClick={() => void run({ action: 'isolate', target: id })} title="Take this asset out of service deliberately" data-testid="act-isolate">
          Isolate
        </button>
        <button type="button" disabled={off} onClick={() => void run({ action: 'restore', target: id })} title="Bring this asset back into service now" data-testid="act-restore">
          Restore
        </button>
        <button type="button" disabled={off} onClick={() => void run({ action: 'shed', target: id, share: 0.2 })} title="Shed 20% of this asset's load" data-testid="act-shed">
          Shed 20%
        </button>
      </div>
      {linked.length > 0 && (
        <fieldset className="reroute" data-testid="reroute">
          <legend>Reroute demand to a linked asset</legend>
          <label>
            To{' '}
            <select value={to} onChange={(e) => setTo(e.target.value)} disabled={off} data-testid="reroute-to" title="Load moves only over a link of the layer">
              <option value="">choose…</option>
              {linked.map((b) => (
                <option key={b} value={index.ids[b]}>
                  {index.ids[b]} ({STATUS_NAMES[status[b]!]})
                </option>
              ))}
            </select>
          </label>
          <label>
            Share {Math.round(share * 100)}%
            <input type="range" min={0.05} max={1} step={0.05} value={share} onChange={(e) => setShare(Number(e.target.value))} disabled={off} aria-label="Share of demand to move" data-testid="reroute-share" />
          </label>
          <button type="button" disabled={off || to === ''} onClick={() => void run({ action: 'reroute', target: id, to, share })} title={to ? `Move ${Math.round(share * 100)}% of ${id}'s demand to ${to}` : 'Choose a linked asset first'} data-testid="reroute-apply">
            Apply reroute
          </button>
        </fieldset>
      )}
    </div>
  );
}
