import { useEffect, useState } from 'react';
import { useTwin, useTwinStore } from '../context.ts';
import { row, type CityIndexUi } from '../store.ts';
import { STATUS_NAMES } from '../model.ts';
import { mayOperate } from '../model.ts';
import { STATUS_CSS } from '../colors.ts';
import { formatClock } from '../format.ts';
import { Sparkline } from './Sparkline.tsx';
import { AssetTrend } from './HistoryCharts.tsx';
import { OperatorActions } from './OperatorActions.tsx';
import { WaterTrend } from './WaterTrend.tsx';
import { GridDetails } from './GridDetails.tsx';
import { EstimateReadings } from './Estimation.tsx';
import { ROUTES, type TwinClient } from '../net/client.ts';

function useTicker(ms: number): number {
  const [n, setN] = useState(0);
  useEffect(() => {
    const id = setInterval(() => setN((x) => x + 1), ms);
    return () => clearInterval(id);
  }, [ms]);
  return n;
}

function ActorLink({ index, actor, via }: { index: CityIndexUi; actor: number; via?: string }) {
  const store = useTwinStore();
  const s = store.getState().fast.status[actor]!;
  return (
    <li>
      <button type="button" className="link" onClick={() => store.select(actor)} title={`Inspect ${index.ids[actor]}`}>
        <span className="dot" style={{ background: STATUS_CSS[s] }} aria-hidden="true" />
        {index.ids[actor]} <small>{index.kinds[index.kindOf[actor]!]} · {STATUS_NAMES[s]}{via === undefined ? '' : ` · ${via}`}</small>
      </button>
    </li>
  );
}

/** Colour of a water service share: green in full, amber when short, red when dry (the server's PDA settings decide the share). */
function satisfactionColour(share: number): string {
  if (share >= 1) return STATUS_CSS[0]!;
  return share > 0 ? STATUS_CSS[1]! : STATUS_CSS[2]!;
}

/**
 * What EPANET found at a water asset (cities with an EPANET network): a junction's pressure and
 * demand satisfaction, a tank's level, a pump running or stopped. Read from the asset's details
 * every two seconds while it is inspected; nothing shows for assets without readings.
 */
function WaterReadings({ client, id }: { client: TwinClient; id: string }) {
  const [details, setDetails] = useState<Record<string, unknown> | null>(null);
  const tick = useTicker(2000);
  useEffect(() => {
    let live = true;
    client
      .get<{ details?: Record<string, unknown> }>(ROUTES.asset(id))
      .then((reply) => live && setDetails(reply.details ?? null))
      .catch(() => live && setDetails(null));
    return () => {
      live = false;
    };
  }, [client, id, tick]);
  if (details === null) return null;
  const num = (key: string): number | undefined => (typeof details[key] === 'number' ? (details[key] as number) : undefined);
  const pressure = num('pressureM');
  const level = num('tankLevelM');
  const flow = num('flowM3s');
  if (pressure === undefined && level === undefined && flow === undefined) return null;
  const share = num('waterSatisfaction') ?? 1;
  return (
    <>
      <h3>Hydraulics (EPANET)</h3>
      <dl className="state" data-testid="water-readings">
        {pressure !== undefined && (
          <>
            <dt>Pressure</dt>
            <dd data-testid="water-pressure" data-share={share}>
              <span className="dot" style={{ background: satisfactionColour(share) }} aria-hidden="true" /> {pressure.toFixed(1)} m
            </dd>
            <dt>Demand served</dt>
            <dd>{(share * 100).toFixed(0)}%</dd>
          </>
        )}
        {level !== undefined && (
          <>
            <dt>Tank level</dt>
            <dd data-testid="water-tank-level">{level.toFixed(2)} m</dd>
          </>
        )}
        {flow !== undefined && (
          <>
            <dt>Pump</dt>
            <dd data-testid="water-pump-state" data-running={flow > 0 ? 'yes' : 'no'}>
              {flow > 0 ? `running, ${(flow * 1000).toFixed(1)} L/s` : 'stopped'}
            </dd>
          </>
        )}
      </dl>
    </>
  );
}

/** One hop of an explain chain: this asset failed at `time` (virtual s) because of `cause`, through `via`. */
export interface ChainHop {
  readonly actor: number;
  readonly id: string;
  readonly time: number;
  readonly cause: string;
  readonly via: string;
}

/** `GET /api/explain/:id` → hops, trigger first (as the server sends them); unknown ids are dropped. */
export function hopsFrom(reply: unknown, index: CityIndexUi): ChainHop[] {
  const list = (reply as { chain?: unknown })?.chain;
  if (!Array.isArray(list)) return [];
  const out: ChainHop[] = [];
  for (const item of list as Array<{ id?: unknown; time?: unknown; cause?: unknown; via?: unknown }>) {
    const id = typeof item?.id === 'string' ? item.id : undefined;
    const actor = id === undefined ? undefined : index.indexOf.get(id);
    if (id === undefined || actor === undefined) continue;
    out.push({ actor, id, time: typeof item.time === 'number' ? item.time : Number.NaN, cause: typeof item.cause === 'string' ? item.cause : '?', via: typeof item.via === 'string' ? item.via : '?' });
  }
  return out;
}

/**
 * Neighbours over links, split by the flow's direction: those nearer a source of the layer feed this
 * asset (shown with its providers), the others are fed by it. Layers without sources: all "linked".
 */
function linkNeighbours(index: CityIndexUi, a: number): { feeding: number[]; fed: number[] } {
  const mine = index.sourceDistance[a]!;
  const feeding: number[] = [];
  const fed: number[] = [];
  for (const b of new Set(row(index.linked, a))) {
    const theirs = index.sourceDistance[b]!;
    if (mine >= 0 && theirs >= 0 && theirs < mine) feeding.push(b);
    else fed.push(b);
  }
  return { feeding, fed };
}

export function Inspector({ client }: { client: TwinClient }) {
  const store = useTwinStore();
  const selected = useTwin((s) => s.selected);
  const index = useTwin((s) => s.index);
  const role = useTwin((s) => s.role);
  const chain = useTwin((s) => s.chain);
  const [hops, setHops] = useState<{ actor: number; hops: ChainHop[] }>({ actor: -1, hops: [] });
  useTicker(400);
  if (selected === null || !index) return null;
  const f = store.getState().fast;
  const a = selected;
  const isCohort = a >= index.assetCount;
  const providers = [...new Set(row(index.providers, a))];
  const dependents = [...new Set(row(index.dependents, a))];
  const links = isCohort ? { feeding: [], fed: [] } : linkNeighbours(index, a);
  const h = f.history;
  const layer = isCohort ? 'cohort' : index.layers[index.layerOf[a]!];
  const explain = async (): Promise<void> => {
    try {
      const found = hopsFrom(await client.get<unknown>(ROUTES.explain(index.ids[a]!)), index);
      setHops({ actor: a, hops: found });
      // The scene highlights the chain this asset first, trigger last, each asset once.
      store.setState({ chain: [...new Set([a, ...found.map((h) => h.actor).reverse()])] });
      if (found.length === 0) store.notify('info', `No failure chain recorded for ${index.ids[a]}`);
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
      {!isCohort && layer === 'water' && <WaterReadings client={client} id={index.ids[a]!} />}
      {!isCohort && layer === 'water' && <WaterTrend client={client} id={index.ids[a]!} />}
      {!isCohort && layer === 'power' && <GridDetails index={index} actor={a} />}
      {!isCohort && layer === 'power' && <EstimateReadings client={client} id={index.ids[a]!} />}
      <h3>Load</h3>
      <Sparkline values={h.actor === a ? h.load : []} colour="#ffb84d" label="Recent load" />
      <h3>Health (service level)</h3>
      <Sparkline values={h.actor === a ? h.level : []} max={1} colour="#29bd9e" label="Recent service level" />
      {f.status[a] !== 0 && (
        <button type="button" onClick={() => void explain()} title="Highlight the chain of causes back to the trigger">
          Explain this failure
        </button>
      )}
      {hops.actor === a && hops.hops.length > 0 && chain.length > 0 && (
        <ol className="chain" aria-label="Failure chain, from the trigger to this asset" data-testid="explain-chain">
          {hops.hops.map((h, i) => (
            <li key={`${h.actor}-${i}`}>
              <button type="button" className="link" onClick={() => store.select(h.actor)} title={`Inspect ${h.id}`}>
                <span className="dot" style={{ background: STATUS_CSS[f.status[h.actor]!] }} aria-hidden="true" />
                <span className="time">{Number.isFinite(h.time) ? formatClock(h.time * 1000) : '—'}</span> {h.id}{' '}
                <small>
                  {h.cause}
                  {h.via === 'input' ? ' (input)' : ` ← ${h.via}`}
                </small>
              </button>
            </li>
          ))}
        </ol>
      )}
      {mayOperate(role) && !isCohort && <OperatorActions client={client} index={index} actor={a} />}
      <AssetTrend key={a} client={client} actor={a} />
      <h3 data-testid="providers-heading">Providers ({providers.length + links.feeding.length})</h3>
      <ul className="actors">
        {providers.slice(0, 30).map((p) => <ActorLink key={p} index={index} actor={p} />)}
        {links.feeding.slice(0, 30).map((p) => <ActorLink key={`l${p}`} index={index} actor={p} via="feeding link" />)}
      </ul>
      <h3>Dependents ({dependents.length + links.fed.length})</h3>
      <ul className="actors">
        {dependents.slice(0, 30).map((p) => <ActorLink key={p} index={index} actor={p} />)}
        {links.fed.slice(0, 30).map((p) => <ActorLink key={`l${p}`} index={index} actor={p} via="link" />)}
      </ul>
    </section>
  );
}

export { useTicker };
