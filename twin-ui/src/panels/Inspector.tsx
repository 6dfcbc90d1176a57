import { useEffect, useState } from 'react';
import { useTwin, useTwinStore } from '../context.ts';
import { row, type CityIndexUi } from '../store.ts';
import { STATUS_NAMES } from '../model.ts';
import { mayOperate } from '../model.ts';
import { STATUS_CSS } from '../colors.ts';
import { Sparkline } from './Sparkline.tsx';
import { AssetTrend } from './HistoryCharts.tsx';
import { OperatorActions } from './OperatorActions.tsx';
import { ROUTES, type TwinClient } from '../net/client.ts';

function useTicker(ms: number): number {
  const [n, setN] = useState(0);
  useEffect(() => {
    const id = setInterval(() => setN((x) => x + 1), ms);
    return () => clearInterval(id);
  }, [ms]);
  return n;
}

function ActorLink({ index, actor }: { index: CityIndexUi; actor: number }) {
  const store = useTwinStore();
  const s = store.getState().fast.status[actor]!;
  return (
    <li>
      <button type="button" className="link" onClick={() => store.select(actor)} title={`Inspect ${index.ids[actor]}`}>
        <span className="dot" style={{ background: STATUS_CSS[s] }} aria-hidden="true" />
        {index.ids[actor]} <small>{index.kinds[index.kindOf[actor]!]} · {STATUS_NAMES[s]}</small>
      </button>
    </li>
  );
}

/** Explain replies vary in shape across server versions; accept a list of ids or of {id}/{actor}. */
function chainFrom(reply: unknown, index: CityIndexUi): number[] {
  const list = Array.isArray(reply) ? reply : ((reply as { chain?: unknown[]; steps?: unknown[] })?.chain ?? (reply as { steps?: unknown[] })?.steps ?? []);
  const out: number[] = [];
  for (const item of list) {
    const id = typeof item === 'string' ? item : ((item as { id?: string; asset?: string; actorId?: string })?.id ?? (item as { asset?: string }).asset ?? (item as { actorId?: string }).actorId);
    const actor = typeof item === 'object' && item && typeof (item as { actor?: unknown }).actor === 'number' ? (item as { actor: number }).actor : id !== undefined ? index.indexOf.get(id) : undefined;
    if (actor !== undefined) out.push(actor);
  }
  return out;
}

export function Inspector({ client }: { client: TwinClient }) {
  const store = useTwinStore();
  const selected = useTwin((s) => s.selected);
  const index = useTwin((s) => s.index);
  const role = useTwin((s) => s.role);
  const chain = useTwin((s) => s.chain);
  useTicker(400);
  if (selected === null || !index) return null;
  const f = store.getState().fast;
  const a = selected;
  const isCohort = a >= index.assetCount;
  const providers = row(index.providers, a);
  const dependents = row(index.dependents, a);
  const h = f.history;
  const layer = isCohort ? 'cohort' : index.layers[index.layerOf[a]!];
  const explain = async (): Promise<void> => {
    try {
      const reply = await client.get<unknown>(ROUTES.explain(index.ids[a]!));
      const c = chainFrom(reply, index);
      store.setState({ chain: c.length > 0 && c[0] !== a ? [a, ...c] : c });
      if (c.length === 0) store.notify('info', `No failure chain recorded for ${index.ids[a]}`);
    } catch (e) {
      store.notify('error', `Explain ${index.ids[a]}: ${(e as Error).message}`);
    }
  };
  return (
    <section className="panel inspector" aria-label={`Inspector: ${index.ids[a]}`} data-testid="inspector" data-actor={index.ids[a]}>
      <header>
        <h2>{index.ids[a]}</h2>
        <button type="button" className="icon" onClick={() => store.select(null)} title="Close the inspector (Esc)" aria-label="Close the inspector">
          ✕
        </button>
      </header>
      <p className="sub">
        {index.kinds[index.kindOf[a]!]} · {layer} · district {index.districts[index.districtOf[a]!]}
        {isCohort && <> · {Math.round(index.population[a - index.assetCount]!).toLocaleString('en-GB')} people</>}
      </p>
      <dl className="state">
        <dt>Status</dt>
        <dd data-testid="inspector-status">
          <span className="dot" style={{ background: STATUS_CSS[f.status[a]!] }} aria-hidden="true" /> {STATUS_NAMES[f.status[a]!]}
        </dd>
        <dt>{isCohort ? 'Needs served' : 'Service level'}</dt>
        <dd>{(f.level[a]! * 100).toFixed(0)}%</dd>
        <dt>{isCohort ? 'Demand ×' : 'Load'}</dt>
        <dd>{f.load[a]!.toFixed(2)}</dd>
        <dt>{isCohort ? 'Human stress' : 'Stress (load ÷ capacity)'}</dt>
        <dd>{(f.stress[a]! * 100).toFixed(0)}%</dd>
      </dl>
      <h3>Load</h3>
      <Sparkline values={h.actor === a ? h.load : []} colour="#ffb84d" label="Recent load" />
      <h3>Health (service level)</h3>
      <Sparkline values={h.actor === a ? h.level : []} max={1} colour="#29bd9e" label="Recent service level" />
      {f.status[a] !== 0 && (
        <button type="button" onClick={() => void explain()} title="Highlight the chain of causes back to the trigger">
          Explain this failure
        </button>
      )}
      {chain.length > 1 && (
        <ol className="chain" aria-label="Failure chain, this asset first, trigger last">
          {chain.map((c, i) => (
            <ActorLink key={`${c}-${i}`} index={index} actor={c} />
          ))}
        </ol>
      )}
      {mayOperate(role) && !isCohort && <OperatorActions client={client} index={index} actor={a} />}
      <AssetTrend key={a} client={client} actor={a} />
      <h3>Providers ({providers.length})</h3>
      <ul className="actors">{[...providers].slice(0, 30).map((p) => <ActorLink key={p} index={index} actor={p} />)}</ul>
      <h3>Dependents ({dependents.length})</h3>
      <ul className="actors">{[...dependents].slice(0, 30).map((p) => <ActorLink key={p} index={index} actor={p} />)}</ul>
    </section>
  );
}

export { useTicker };
