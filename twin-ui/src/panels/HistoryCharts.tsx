import { useEffect, useRef, useState } from 'react';
import { CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartDataset } from 'chart.js';
import { useTwin } from '../context.ts';
import type { TwinClient } from '../net/client.ts';

/**
 * Trends from the server's history API (`GET /api/assets/:id/history`, `GET /api/history`), drawn
 * with chart.js: the inspector's trend of one asset (optionally beside a second one) over a chosen
 * range, and the incident chart of people without service. Both follow the source on screen: the
 * live city, or a replay/training session (`session=`). Times on the axes are virtual time.
 */
Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Filler, Legend, Tooltip);

export type TrendRange = '1h' | '24h' | '7d' | 'incident';
const RANGES: ReadonlyArray<[TrendRange, string]> = [['1h', '1 h'], ['24h', '24 h'], ['7d', '7 days'], ['incident', 'since the incident']];
const REFRESH_MS = 5_000;

interface AssetBucket { startMs: number; meanLoad: number; maxLoad: number; minLevel: number; maxStress: number; lastStatus: string }
interface AssetHistory { nowMs: number; buckets: AssetBucket[]; statusChanges: Array<{ timeMs: number; from: string; to: string; cause: { code: string; from: string } | null }> }
interface LayerBucket { startMs: number; failed: number; degraded: number; peopleWithout: { power: number; water: number; telecom: number }; costPerHour: number }
interface LayerHistory { nowMs: number; stepMs: number; currency: string; buckets: LayerBucket[] }

/** Virtual ms as `d hh:mm` (virtual time since the run began). */
export function virtualClock(ms: number): string {
  const m = Math.floor(ms / 60_000);
  const d = Math.floor(m / 1_440);
  const hh = String(Math.floor((m % 1_440) / 60)).padStart(2, '0');
  const mm = String(m % 60).padStart(2, '0');
  return d > 0 ? `${d}d ${hh}:${mm}` : `${hh}:${mm}`;
}

const withSession = (path: string, source: string | null): string => (source === null ? path : `${path}&session=${encodeURIComponent(source)}`);

/** The start of the incident: the first bucket of the whole-city series with an asset failed or degraded (undefined: none yet). */
async function incidentStart(client: TwinClient, source: string | null): Promise<number | undefined> {
  const all = await client.get<LayerHistory>(withSession('/api/history?from=0&to=now', source));
  return all.buckets.find((b) => b.failed > 0 || b.degraded > 0)?.startMs;
}

async function rangeQuery(client: TwinClient, range: TrendRange, source: string | null): Promise<{ query: string; note: string }> {
  if (range !== 'incident') return { query: `from=now-${range}&to=now`, note: '' };
  const start = await incidentStart(client, source);
  return start === undefined ? { query: 'from=now-1h&to=now', note: 'no incident yet: the last hour' } : { query: `from=${start}&to=now`, note: `incident began ${virtualClock(start)}` };
}

/** A chart.js line chart bound to a canvas for the component's lifetime; `update` swaps the data. */
function useLineChart(options: { yTitle: string; y1Title?: string; stacked?: boolean }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'line', Array<{ x: number; y: number }>> | null>(null);
  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        plugins: { legend: { labels: { color: '#b8c4d4', boxWidth: 10, font: { size: 10 } } }, tooltip: { callbacks: { title: (items) => `virtual ${virtualClock(items[0]?.parsed.x ?? 0)}` } } },
        scales: {
          x: { type: 'linear', ticks: { color: '#8a98ab', maxTicksLimit: 6, callback: (v) => virtualClock(Number(v)) }, grid: { color: '#1f2b3b' } },
          y: { stacked: options.stacked ?? false, beginAtZero: true, title: { display: true, text: options.yTitle, color: '#8a98ab', font: { size: 10 } }, ticks: { color: '#8a98ab' }, grid: { color: '#1f2b3b' } },
          ...(options.y1Title === undefined ? {} : { y1: { position: 'right' as const, min: 0, max: 100, title: { display: true, text: options.y1Title, color: '#8a98ab', font: { size: 10 } }, ticks: { color: '#8a98ab' }, grid: { display: false } } }),
        },
      },
    });
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
    // The axes are fixed for the component's life.
  }, []);
  const update = (datasets: Array<ChartDataset<'line', Array<{ x: number; y: number }>>>): void => {
    if (chart.current === null) return;
    chart.current.data.datasets = datasets;
    // The axis spans exactly the range asked (chart.js would round it out to "nice" ticks).
    const xs = datasets.flatMap((d) => d.data.map((p) => p.x));
    const x = chart.current.options.scales?.['x'];
    if (x !== undefined && xs.length > 0) {
      x.min = Math.min(...xs);
      x.max = Math.max(...xs);
    }
    chart.current.update('none');
  };
  return { canvas, update };
}

function RangePicker({ range, onChange, name }: { range: TrendRange; onChange: (r: TrendRange) => void; name: string }) {
  return (
    <div className="row history-range" role="radiogroup" aria-label={`${name} time range`}>
      {RANGES.map(([r, label]) => (
        <button key={r} type="button" role="radio" aria-checked={range === r} className={range === r ? 'on' : ''} onClick={() => onChange(r)}>
          {label}
        </button>
      ))}
    </div>
  );
}

/** Re-runs `load` now, when its inputs change, and every few seconds (history grows as the run goes on). */
function usePolling(load: () => Promise<void>, deps: unknown[], onError?: (message: string) => void): void {
  useEffect(() => {
    let alive = true;
    const run = (): void => void load().catch((error: unknown) => onError?.((error as Error).message));
    run();
    const id = setInterval(() => alive && run(), REFRESH_MS);
    return () => {
      alive = false;
      clearInterval(id);
    };
  }, deps);
}

/** The inspector's trend: load and service level of the selected asset, optionally beside a second asset. */
export function AssetTrend({ client, actor }: { client: TwinClient; actor: number }) {
  const index = useTwin((s) => s.index);
  const source = useTwin((s) => s.source);
  const [range, setRange] = useState<TrendRange>('1h');
  const [compare, setCompare] = useState('');
  const [state, setState] = useState<{ points: number; series: number; note: string; error: string; changes: AssetHistory['statusChanges'] }>({ points: 0, series: 0, note: '', error: '', changes: [] });
  const { canvas, update } = useLineChart({ yTitle: 'load', y1Title: 'service %' });
  const id = index?.ids[actor] ?? '';
  const other = compare.trim();
  const otherKnown = other !== '' && other !== id && index?.indexOf.has(other) === true;

  usePolling(async () => {
    if (id === '') return;
    const { query, note } = await rangeQuery(client, range, source);
    const ask = (asset: string): Promise<AssetHistory> => client.get<AssetHistory>(withSession(`/api/assets/${encodeURIComponent(asset)}/history?${query}`, source));
    const [mine, theirs] = await Promise.all([ask(id), otherKnown ? ask(other) : Promise.resolve(undefined)]);
    const series = (h: AssetHistory, name: string, dashed: boolean): Array<ChartDataset<'line', Array<{ x: number; y: number }>>> => [
      { label: `${name} load`, data: h.buckets.map((b) => ({ x: b.startMs, y: b.maxLoad })), borderColor: '#ffb84d', backgroundColor: '#ffb84d', borderWidth: 1.5, pointRadius: 0, borderDash: dashed ? [4, 3] : [], yAxisID: 'y' },
      { label: `${name} service %`, data: h.buckets.map((b) => ({ x: b.startMs, y: b.minLevel * 100 })), borderColor: '#29bd9e', backgroundColor: '#29bd9e', borderWidth: 1.5, pointRadius: 0, borderDash: dashed ? [4, 3] : [], yAxisID: 'y1', stepped: true },
    ];
    const datasets = [...series(mine, id, false), ...(theirs === undefined ? [] : series(theirs, other, true))];
    update(datasets);
    setState({ points: mine.buckets.length, series: datasets.length, note, error: '', changes: mine.statusChanges.slice(-5) });
  }, [id, range, source, other, otherKnown], (message) => setState((s) => ({ ...s, error: `History unavailable: ${message}` })));

  return (
    <div className="history-trend" data-testid="asset-trend" data-points={state.points} data-series={state.series} data-range={range} data-compare={otherKnown ? other : ''}>
      <h3>Trend (virtual time)</h3>
      <RangePicker range={range} onChange={setRange} name="Trend" />
      <label>
        Compare with{' '}
        <input list="history-compare-ids" value={compare} placeholder="another asset id" onChange={(e) => setCompare(e.target.value)} aria-invalid={other !== '' && !otherKnown} data-testid="trend-compare" />
      </label>
      <datalist id="history-compare-ids">{index ? index.ids.slice(0, Math.min(index.assetCount, 500)).map((x) => <option key={x} value={x} />) : null}</datalist>
      {other !== '' && !otherKnown && <p className="hint">{other === id ? 'Pick another asset than this one.' : `No asset "${other}".`}</p>}
      <div className="chart-box"><canvas ref={canvas} aria-label={`Load and service level of ${id}${otherKnown ? ` and ${other}` : ''} over ${range}`} /></div>
      {state.note && <p className="hint">{state.note}</p>}
      {state.changes.length > 0 && (
        <ul className="status-changes" aria-label="Latest status changes">
          {state.changes.map((c) => (
            <li key={`${c.timeMs}-${c.to}`}>{virtualClock(c.timeMs)} {c.from} → {c.to}{c.cause ? ` (${c.cause.code}${c.cause.from !== 'input' ? `, from ${c.cause.from}` : ''})` : ''}</li>
          ))}
        </ul>
      )}
      {state.error && <p className="hint">{state.error}</p>}
    </div>
  );
}

/** The incident chart: people without power, water and telecom over time, and assets failed. */
export function IncidentChart({ client }: { client: TwinClient }) {
  const source = useTwin((s) => s.source);
  const [range, setRange] = useState<TrendRange>('incident');
  const [state, setState] = useState<{ buckets: number; peak: number; note: string; failedPeak: number }>({ buckets: 0, peak: 0, note: '', failedPeak: 0 });
  const { canvas, update } = useLineChart({ yTitle: 'people without service' });

  usePolling(async () => {
    const { query, note } = await rangeQuery(client, range, source);
    const h = await client.get<LayerHistory>(withSession(`/api/history?${query}`, source));
    const line = (label: string, colour: string, pick: (b: LayerBucket) => number): ChartDataset<'line', Array<{ x: number; y: number }>> => ({
      label, data: h.buckets.map((b) => ({ x: b.startMs, y: pick(b) })), borderColor: colour, backgroundColor: colour, borderWidth: 1.5, pointRadius: 0,
    });
    update([line('no power', '#ffd23f', (b) => b.peopleWithout.power), line('no water', '#3fa7ff', (b) => b.peopleWithout.water), line('no telecom', '#c77dff', (b) => b.peopleWithout.telecom)]);
    const peak = Math.max(0, ...h.buckets.map((b) => b.peopleWithout.power + b.peopleWithout.water + b.peopleWithout.telecom));
    setState({ buckets: h.buckets.length, peak, note, failedPeak: Math.max(0, ...h.buckets.map((b) => b.failed)) });
  }, [range, source]);

  return (
    <section className="panel incident-chart" aria-label="People without service over time" data-testid="incident-chart" data-buckets={state.buckets} data-peak={state.peak} data-source={source ?? 'live'}>
      <h2>People without service{source === null ? '' : ' (session)'}</h2>
      <RangePicker range={range} onChange={setRange} name="Incident chart" />
      <div className="chart-box"><canvas ref={canvas} aria-label="People without power, water and telecom over virtual time" /></div>
      <p className="hint">
        {state.note && <>{state.note}. </>}Peak {state.peak.toLocaleString('en-GB')} people-services out, {state.failedPeak} assets failed at most.
      </p>
    </section>
  );
}
