/**
 * The live grid in the browser (cities whose power layer is electrical): `GET /api/grid` (signed
 * flows, ratings, tripped) and `GET /api/grid/contingencies` (N-1, worst first), polled with
 * If-None-Match so an unchanged grid costs a 304. Kept in a small store of its own: the branch
 * colours follow the frames (a branch's stress is its loading), so only the flow direction, the
 * ratings and the N-1 list come from here. A 404 (no electrical layer) stops the polling.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ContingencyReply, GridReply } from '../model.ts';

export interface GridBranchUi {
  readonly actor: number;
  readonly fromActor: number;
  readonly toActor: number;
  /** +1 from → to, −1 to → from, 0 no flow. */
  readonly direction: number;
  readonly flowMw: number;
  readonly ratingMw: number | null;
  readonly loadingPct: number | null;
  readonly tripped: boolean;
}

export interface GridBusUi {
  readonly loadMw: number;
  readonly generationMw: number;
  /** The live voltage monitor's last AC run (absent when it is off). */
  readonly vmPu?: number;
  readonly violation?: 'under' | 'over' | 'collapse' | null;
}

export interface GridUiState {
  /** null until the first answer; false when the city has no electrical power layer. */
  readonly available: boolean | null;
  readonly branches: readonly GridBranchUi[];
  /** Per bus and generator actor: load and generation (MW) of the last poll; with the voltage monitor on, the bus's AC voltage. */
  readonly buses: ReadonlyMap<number, GridBusUi>;
  readonly generators: ReadonlyMap<number, { readonly outputMw: number; readonly scheduleMw: number }>;
  /** Bumped whenever `branches` changes (the scene redraws its arrows then). */
  readonly version: number;
  readonly contingencies: ContingencyReply | null;
  /** Camera target requested by a click in the N-1 panel (scene x, z), with a counter. */
  readonly flyTo: { readonly x: number; readonly z: number; readonly seq: number } | null;
}

export type GridStore = StoreApi<GridUiState>;

export function createGridStore(): GridStore {
  return createStore<GridUiState>(() => ({ available: null, branches: [], buses: new Map(), generators: new Map(), version: 0, contingencies: null, flyTo: null }));
}

/** One store per page (the scene, the inspector and the N-1 panel share it). */
export const gridStore = createGridStore();

/** Maps a /api/grid reply onto actor indices (ids the page does not know are dropped). */
export function gridFromReply(reply: GridReply, indexOf: ReadonlyMap<string, number>): Pick<GridUiState, 'branches' | 'buses' | 'generators'> {
  const branches: GridBranchUi[] = [];
  for (const b of reply.branches) {
    const actor = indexOf.get(b.id);
    const fromActor = indexOf.get(b.from);
    const toActor = indexOf.get(b.to);
    if (actor === undefined || fromActor === undefined || toActor === undefined) continue;
    branches.push({ actor, fromActor, toActor, direction: Math.sign(b.flowMw), flowMw: b.flowMw, ratingMw: b.ratingMw, loadingPct: b.loadingPct, tripped: b.tripped });
  }
  const buses = new Map<number, GridBusUi>();
  for (const b of reply.buses) {
    const a = indexOf.get(b.id);
    if (a !== undefined) buses.set(a, { loadMw: b.loadMw, generationMw: b.generationMw, ...(b.vmPu === undefined ? {} : { vmPu: b.vmPu, violation: b.violation ?? null }) });
  }
  const generators = new Map<number, { outputMw: number; scheduleMw: number }>();
  for (const g of reply.generators) {
    const a = indexOf.get(g.id);
    if (a !== undefined) generators.set(a, { outputMw: g.outputMw, scheduleMw: g.scheduleMw });
  }
  return { branches, buses, generators };
}

interface PollOptions {
  readonly token: () => string | null;
  readonly indexOf: ReadonlyMap<string, number>;
  readonly baseUrl?: string;
  /** Grid state poll period (ms). */
  readonly gridMs?: number;
  /** N-1 poll period (ms); the server recomputes while it is asked. */
  readonly contingencyMs?: number;
  readonly limit?: number;
}

/** Starts polling; returns a stop function. */
export function pollGrid(store: GridStore, options: PollOptions): () => void {
  const base = options.baseUrl ?? '';
  const tags = new Map<string, string>();
  let stopped = false;
  const get = async <T>(path: string): Promise<T | null | 'gone'> => {
    const token = options.token();
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const tag = tags.get(path);
    if (tag !== undefined) headers['if-none-match'] = tag;
    const res = await fetch(base + path, { headers });
    if (res.status === 404) return 'gone';
    if (res.status === 304 || !res.ok) return null;
    const etag = res.headers.get('etag');
    if (etag !== null) tags.set(path, etag);
    return (await res.json()) as T;
  };
  const gridTick = async (): Promise<void> => {
    const reply = await get<GridReply>('/api/grid').catch(() => null);
    if (reply === 'gone') {
      stopped = true;
      store.setState({ available: false });
      return;
    }
    if (reply !== null) store.setState((s) => ({ available: true, ...gridFromReply(reply, options.indexOf), version: s.version + 1 }));
  };
  const n1Tick = async (): Promise<void> => {
    if (store.getState().available !== true) return;
    const reply = await get<ContingencyReply>(`/api/grid/contingencies?limit=${options.limit ?? 30}`).catch(() => null);
    if (reply !== null && reply !== 'gone') store.setState({ contingencies: reply });
  };
  const timers: Array<ReturnType<typeof setInterval>> = [];
  void gridTick().then(() => n1Tick());
  timers.push(setInterval(() => !stopped && void gridTick(), options.gridMs ?? 2000));
  timers.push(setInterval(() => !stopped && void n1Tick(), options.contingencyMs ?? 3000));
  return () => {
    stopped = true;
    for (const t of timers) clearInterval(t);
  };
}

/**
 * Colour of a loading % (|flow| ÷ rating): green up to 50 %, through yellow (80 %) and orange
 * (100 %) to red beyond 120 %; unrated branches grey. `out` gets r, g, b in 0..1.
 */
export const LOADING_STOPS: ReadonlyArray<readonly [number, readonly [number, number, number]]> = [
  [0, [0.16, 0.74, 0.62]],
  [50, [0.35, 0.8, 0.35]],
  [80, [1.0, 0.85, 0.2]],
  [100, [1.0, 0.5, 0.1]],
  [120, [1.0, 0.12, 0.12]],
];
export const TRIPPED_COLOUR: readonly [number, number, number] = [0.75, 0.3, 1.0];
export const UNRATED_COLOUR: readonly [number, number, number] = [0.55, 0.6, 0.68];

export function loadingColour(pct: number | null, out: Float32Array, o: number): void {
  if (pct === null || !Number.isFinite(pct)) {
    out.set(UNRATED_COLOUR, o);
    return;
  }
  const stops = LOADING_STOPS;
  if (pct <= stops[0]![0]) return void out.set(stops[0]![1], o);
  for (let i = 1; i < stops.length; i++) {
    const [p1, c1] = stops[i]!;
    if (pct <= p1) {
      const [p0, c0] = stops[i - 1]!;
      const t = (pct - p0) / (p1 - p0);
      for (let k = 0; k < 3; k++) out[o + k] = c0[k]! + (c1[k]! - c0[k]!) * t;
      return;
    }
  }
  out.set(stops[stops.length - 1]![1], o);
}
