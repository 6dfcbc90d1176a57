/**
 * The twin's state, in a vanilla zustand store.
 *
 * Two speeds live here. Fast state (per-actor columns, the clock) is mutated in place by
 * `applyFrame` and never goes through `setState`: the meshes read it inside `useFrame`, so a delta
 * costs no React render (STYLE item 16, zustand "transient updates"). Slow state (topology,
 * connection, role, selection, toggles, the headline summary) goes through `setState` and React
 * subscribes to it; the summary is recomputed from the columns at most a few times a second.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { FrameKind, Status, type Alert, type FrameColumns, type RelianceExtension, type Role, type ServerSummary, type SessionInfo, type Topology, type TopologyGeography } from './model.ts';
import { layoutCentre, layoutPositions } from './layout.ts';

/** Compressed adjacency: the items of row r are `items[offsets[r] .. offsets[r + 1])`. */
export interface Csr {
  readonly offsets: Int32Array;
  readonly items: Int32Array;
}

function csr(rows: number, from: ArrayLike<number>, to: ArrayLike<number>): Csr {
  const offsets = new Int32Array(rows + 1);
  for (let i = 0; i < from.length; i++) offsets[(from[i] as number) + 1]! += 1;
  for (let r = 0; r < rows; r++) offsets[r + 1]! += offsets[r]!;
  const cursor = offsets.slice(0, rows);
  const items = new Int32Array(from.length);
  for (let i = 0; i < from.length; i++) items[cursor[from[i] as number]!++] = to[i] as number;
  return { offsets, items };
}

export function row(g: Csr, r: number): Int32Array {
  return g.items.subarray(g.offsets[r]!, g.offsets[r + 1]!);
}

/** Numeric index of a topology, built once per city. */
export interface CityIndexUi {
  readonly assetCount: number;
  readonly cohortCount: number;
  readonly actorCount: number;
  readonly ids: readonly string[];
  readonly indexOf: ReadonlyMap<string, number>;
  readonly layers: readonly string[];
  /** Layer index per actor (cohorts: -1). */
  readonly layerOf: Int32Array;
  readonly kinds: readonly string[];
  /** Kind index per actor (cohorts share the kind `cohort`). */
  readonly kindOf: Int32Array;
  readonly districts: readonly string[];
  readonly districtOf: Int32Array;
  /** x, y, z per actor, in scene units (metres), laid out when the city gave no position. */
  readonly positions: Float32Array;
  /** Links as index pairs; `linkLayer` is the layer index of each link. */
  readonly linkFrom: Int32Array;
  readonly linkTo: Int32Array;
  readonly linkLayer: Int32Array;
  /** Links as an undirected adjacency (both directions): the assets a reroute may move load to. */
  readonly linked: Csr;
  /** Dependencies (provider → dependent) as index pairs; `depLayer` is the provider's layer. */
  readonly depFrom: Int32Array;
  readonly depTo: Int32Array;
  readonly depLayer: Int32Array;
  readonly providers: Csr;
  readonly dependents: Csr;
  /** Cohort number (0-based) → actor indices of the assets it relies on. */
  readonly reliesOn: Csr;
  /** True when the topology carried no cohort reliance and `reliesOn` is the district estimate. */
  readonly relianceEstimated: boolean;
  readonly population: Float64Array;
  readonly hospitals: Int32Array;
  /** The real place (imported cities) and the scene's origin in its frame: scene x = x − centre[0], z = −(y − centre[1]). */
  readonly geography: TopologyGeography | null;
  readonly centre: readonly [number, number];
  /**
   * Link hops from each asset to the nearest source of its layer (-1: no source reachable, or a
   * layer without sources). A linked neighbour nearer a source feeds this asset; a farther one is fed.
   */
  readonly sourceDistance: Int32Array;
}

/** Multi-source breadth-first hop counts over links from every source (links stay within a layer). */
function sourceDistances(actorCount: number, source: readonly number[], linked: Csr): Int32Array {
  const distance = new Int32Array(actorCount).fill(-1);
  let frontier: number[] = [];
  for (let a = 0; a < source.length; a++) {
    if (source[a] === 1) {
      distance[a] = 0;
      frontier.push(a);
    }
  }
  for (let d = 1; frontier.length > 0; d++) {
    const next: number[] = [];
    for (const a of frontier) {
      for (const b of row(linked, a)) {
        if (distance[b] !== -1) continue;
        distance[b] = d;
        next.push(b);
      }
    }
    frontier = next;
  }
  return distance;
}

export function indexTopology(topology: Topology & RelianceExtension): CityIndexUi {
  const assetCount = topology.assetCount;
  const cohortCount = topology.cohortCount;
  const actorCount = assetCount + cohortCount;
  const ids = topology.ids;
  const indexOf = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) indexOf.set(ids[i]!, i);
  const layers = topology.layers;
  const kinds = [...topology.kinds, 'cohort'];
  const cohortKind = kinds.length - 1;
  const layerOf = new Int32Array(actorCount).fill(-1);
  const kindOf = new Int32Array(actorCount).fill(cohortKind);
  const districtOf = new Int32Array(actorCount);
  const hospitals: number[] = [];
  for (let i = 0; i < assetCount; i++) {
    layerOf[i] = topology.layer[i] ?? 0;
    kindOf[i] = topology.kind[i] ?? 0;
    if (/hospital/i.test(kinds[kindOf[i]!] ?? '')) hospitals.push(i);
  }
  for (let i = 0; i < actorCount; i++) districtOf[i] = topology.district[i] ?? 0;
  const population = new Float64Array(cohortCount);
  for (let k = 0; k < cohortCount; k++) population[k] = topology.population[k] ?? 0;
  const pairs = (flat: readonly number[]): [Int32Array, Int32Array] => {
    const m = flat.length >> 1;
    const f = new Int32Array(m);
    const t = new Int32Array(m);
    for (let e = 0; e < m; e++) {
      f[e] = flat[2 * e]!;
      t[e] = flat[2 * e + 1]!;
    }
    return [f, t];
  };
  const [linkFrom, linkTo] = pairs(topology.links);
  const [depFrom, depTo] = pairs(topology.dependencies);
  const linkLayer = linkFrom.map((a) => layerOf[a]!);
  const depLayer = depFrom.map((a) => layerOf[a]!);
  let reliesOn: Csr;
  let relianceEstimated = false;
  if (topology.reliance) {
    const [rf, rt] = pairs(topology.reliance);
    reliesOn = csr(cohortCount, rf, rt);
  } else {
    // No reliance on the wire: a cohort relies on the assets of its district (see RelianceExtension).
    relianceEstimated = true;
    const rf: number[] = [];
    const rt: number[] = [];
    const cohortsOfDistrict = new Map<number, number[]>();
    for (let k = 0; k < cohortCount; k++) {
      const d = districtOf[assetCount + k]!;
      const list = cohortsOfDistrict.get(d) ?? [];
      list.push(k);
      cohortsOfDistrict.set(d, list);
    }
    for (let a = 0; a < assetCount; a++) {
      const l = layers[layerOf[a]!];
      if (l !== 'power' && l !== 'water' && l !== 'telecom') continue;
      for (const k of cohortsOfDistrict.get(districtOf[a]!) ?? []) {
        rf.push(k);
        rt.push(a);
      }
    }
    reliesOn = csr(cohortCount, rf, rt);
  }
  const linked = csr(actorCount, [...linkFrom, ...linkTo], [...linkTo, ...linkFrom]);
  return {
    assetCount,
    cohortCount,
    actorCount,
    ids,
    indexOf,
    layers,
    layerOf,
    kinds,
    kindOf,
    districts: topology.districts,
    districtOf,
    positions: layoutPositions(topology),
    linkFrom,
    linkTo,
    linkLayer,
    linked,
    depFrom,
    depTo,
    depLayer,
    providers: csr(actorCount, depTo, depFrom),
    dependents: csr(actorCount, depFrom, depTo),
    reliesOn,
    relianceEstimated,
    population,
    hospitals: Int32Array.from(hospitals),
    geography: topology.geography ?? null,
    centre: layoutCentre(topology),
    sourceDistance: sourceDistances(actorCount, topology.source ?? [], linked),
  };
}

/** Mutable per-actor columns and clock: written by the socket, read by `useFrame`. */
export interface FastState {
  /** Bumped on every applied delta; renderers compare it to skip unchanged frames. */
  version: number;
  status: Uint8Array;
  level: Float32Array;
  load: Float32Array;
  stress: Float32Array;
  /** `performance.now()` of each actor's last move into failed/faulted (0: never): drives the cascade animation. */
  failedAtWall: Float64Array;
  /** Virtual time in ms, as of the last frame or clock message. */
  time: number;
  /** Wall-clock instant (ms) when `time` was received, to interpolate the displayed clock. */
  timeAtWall: number;
  speed: number;
  paused: boolean;
  /** Last applied frame number (a view that has not changed yet sends snapshot frame 0). */
  frame: number;
  /** Frames applied since the city was installed. */
  applied: number;
  /** Cascade pulses to animate: `from` caused `to` to fail at wall time `wall` (from alerts or providers). */
  pulses: { from: number; to: number; wall: number }[];
  /** Recent samples of the selected actor (for the sparkline). */
  history: { actor: number; time: number[]; load: number[]; level: number[]; stress: number[] };
}

export interface LayerCount {
  readonly layer: string;
  readonly total: number;
  readonly out: number;
  readonly degraded: number;
}

export interface Summary {
  readonly byLayer: readonly LayerCount[];
  readonly peopleWithout: { readonly power: number; readonly water: number; readonly telecom: number };
  readonly population: number;
  readonly hospitalsDegraded: number;
  readonly hospitalsTotal: number;
  readonly failing: number;
  /** Actors failing or at risk, worst first (at most `WORST_LIMIT`). */
  readonly worst: readonly number[];
  /** The `fast.version` this summary was computed from. */
  readonly version: number;
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'lost' | 'unauthorised';

/** How long a toast stays, by kind (ms). */
export const NOTICE_MS: Readonly<Record<Notice['kind'], number>> = { ok: 5000, info: 6000, warn: 10_000, error: 15_000 };
/** Toasts on screen at once: older ones make way. */
export const MAX_NOTICES = 4;

export interface Notice {
  readonly id: number;
  readonly kind: 'info' | 'warn' | 'error' | 'ok';
  readonly text: string;
}

export interface TwinState {
  topology: Topology | null;
  index: CityIndexUi | null;
  fast: FastState;
  summary: Summary | null;
  connection: ConnectionState;
  /** True once the connection dropped at least once (to say "recovered" rather than "connected"). */
  everLost: boolean;
  notices: readonly Notice[];
  token: string | null;
  role: Role | null;
  user: string | null;
  /** Latest alerts (assets entering failed or faulted), newest first. */
  alerts: readonly Alert[];
  alertCount: number;
  /** Runs of the live state estimator seen (the `estimation` event): estimate panels refetch on a change. */
  estimationRuns: number;
  selected: number | null;
  /** Actors on the explain chain of the selected failure, trigger last. */
  chain: readonly number[];
  /** Actors an event being placed would hit (drawn as pins until injected or cancelled). */
  preview: readonly number[];
  crisis: boolean;
  heatmap: boolean;
  layerVisible: Readonly<Record<string, boolean>>;
  showLinks: boolean;
  showDependencies: boolean;
  showDistricts: boolean;
  /** What is on screen: `null` is the live city, else the id of a replay or training session. */
  source: string | null;
  /** The on-screen session as last heard from the server (phase, clock, handover); null when live. */
  session: SessionInfo | null;
  /** Sessions running on the server, for the source picker. */
  sessions: readonly SessionInfo[];
  /** The server's own summary of the source on screen (the cost figures), polled every few seconds. */
  serverSummary: ServerSummary | null;
}

export const WORST_LIMIT = 50;
const HISTORY_LIMIT = 120;
const MAX_PULSES = 4096;
/** Stress above which an operating asset counts as "at risk". */
export const AT_RISK_STRESS = 0.85;

function emptyFast(n: number): FastState {
  return {
    version: 0,
    status: new Uint8Array(n),
    level: new Float32Array(n).fill(1),
    load: new Float32Array(n),
    stress: new Float32Array(n),
    failedAtWall: new Float64Array(n),
    time: 0,
    timeAtWall: 0,
    speed: 1,
    paused: false,
    frame: 0,
    applied: 0,
    pulses: [],
    history: { actor: -1, time: [], load: [], level: [], stress: [] },
  };
}

export type TwinStore = StoreApi<TwinState> & TwinActions;

export interface TwinActions {
  /** Installs a city: builds its index and resets every column to ok. */
  setTopology(topology: Topology): void;
  /**
   * Writes a snapshot or delta frame into the columns in place; no listener is called (see the
   * module comment). Returns false, applying nothing, when a delta does not follow the last applied
   * frame: the caller resubscribes with `since` to catch up.
   */
  applyFrame(frame: FrameColumns, wallNow?: number): boolean;
  /** Records the simulation clock (virtual time, speed, paused). */
  setClock(clock: { time: number; speed: number; paused: boolean }, wallNow?: number): void;
  /** Recomputes the headline summary from the columns if they changed; returns it. */
  refreshSummary(): Summary | null;
  /**
   * Calls `listener` after every applied frame or clock change (outside React, outside setState):
   * the scene uses it to request a render when it renders on demand. Returns the unsubscribe.
   */
  onFast(listener: () => void): () => void;
  /** Names the actor whose message made `to` fail (from an alert), so the pulse runs along the right edge. */
  noteCause(to: number, from: number): void;
  select(actor: number | null): void;
  notify(kind: Notice['kind'], text: string): void;
  dismiss(id: number): void;
  /**
   * Puts another source on screen (null: live): fresh columns, headline, alerts and cascades, so
   * nothing of the previous source survives; the caller then subscribes to the new one.
   */
  switchSource(source: string | null, session?: SessionInfo | null): void;
}

export function isOut(status: number): boolean {
  return status === Status.Failed || status === Status.Faulted || status === Status.Isolated;
}

/** Does asset `a` fail to deliver service? (out of service, or below half its level.) */
export function notServing(f: FastState, a: number): boolean {
  return isOut(f.status[a]!) || f.level[a]! < 0.5;
}

/** Severity for the crisis list: higher is worse; 0 means healthy. */
export function severity(f: FastState, i: number, dependents: number): number {
  const s = f.status[i]!;
  const stress = f.stress[i]!;
  let base = 0;
  if (s === Status.Faulted) base = 5;
  else if (s === Status.Failed) base = 4;
  else if (s === Status.Isolated) base = 3;
  else if (s === Status.Degraded) base = 2;
  else if (s === Status.Sheltering) base = 1.5;
  else if (stress >= AT_RISK_STRESS) base = 1;
  if (base === 0) return 0;
  return base + Math.min(stress, 2) * 0.2 + Math.log1p(dependents) * 0.05;
}

export function computeSummary(index: CityIndexUi, f: FastState): Summary {
  const L = index.layers.length;
  const total = new Int32Array(L);
  const out = new Int32Array(L);
  const degraded = new Int32Array(L);
  for (let i = 0; i < index.assetCount; i++) {
    const l = index.layerOf[i]!;
    total[l]! += 1;
    const s = f.status[i]!;
    if (isOut(s)) out[l]! += 1;
    else if (s === Status.Degraded) degraded[l]! += 1;
  }
  const without = { power: 0, water: 0, telecom: 0 };
  let population = 0;
  for (let k = 0; k < index.cohortCount; k++) {
    const pop = index.population[k]!;
    population += pop;
    let p = false;
    let w = false;
    let t = false;
    for (const a of row(index.reliesOn, k)) {
      if (!notServing(f, a)) continue;
      const layer = index.layers[index.layerOf[a]!];
      if (layer === 'power') p = true;
      else if (layer === 'water') w = true;
      else if (layer === 'telecom') t = true;
    }
    if (p) without.power += pop;
    if (w) without.water += pop;
    if (t) without.telecom += pop;
  }
  let hospitalsDegraded = 0;
  for (const h of index.hospitals) if (f.status[h] !== Status.Ok) hospitalsDegraded++;
  // Worst first: a bounded insertion into a small sorted list keeps this O(n · limit) worst case, O(n) typically.
  const worst: number[] = [];
  const scores: number[] = [];
  let failing = 0;
  for (let i = 0; i < index.actorCount; i++) {
    const deps = index.dependents.offsets[i + 1]! - index.dependents.offsets[i]!;
    const sc = severity(f, i, deps);
    if (sc === 0) continue;
    failing++;
    if (worst.length === WORST_LIMIT && sc <= scores[WORST_LIMIT - 1]!) continue;
    let j = worst.length === WORST_LIMIT ? WORST_LIMIT - 1 : worst.length;
    while (j > 0 && scores[j - 1]! < sc) {
      scores[j] = scores[j - 1]!;
      worst[j] = worst[j - 1]!;
      j--;
    }
    scores[j] = sc;
    worst[j] = i;
  }
  return {
    byLayer: index.layers.map((layer, l) => ({ layer, total: total[l]!, out: out[l]!, degraded: degraded[l]! })),
    peopleWithout: without,
    population,
    hospitalsDegraded,
    hospitalsTotal: index.hospitals.length,
    failing,
    worst,
    version: f.version,
  };
}

let noticeSeq = 0;

export function createTwinStore(): TwinStore {
  const store = createStore<TwinState>()(() => ({
    topology: null,
    index: null,
    fast: emptyFast(0),
    summary: null,
    connection: 'idle',
    everLost: false,
    notices: [],
    token: null,
    role: null,
    user: null,
    alerts: [],
    alertCount: 0,
    estimationRuns: 0,
    selected: null,
    chain: [],
    preview: [],
    crisis: false,
    // Off by default: the heat map tints healthy assets by load, which reads as "degraded" amber.
    heatmap: false,
    layerVisible: {},
    showLinks: true,
    showDependencies: false,
    showDistricts: true,
    source: null,
    session: null,
    sessions: [],
    serverSummary: null,
  }));
  const fastListeners = new Set<() => void>();
  const fastChanged = (): void => {
    for (const l of fastListeners) l();
  };
  const pushHistory = (f: FastState, a: number): void => {
    const h = f.history;
    h.time.push(f.time);
    h.load.push(f.load[a]!);
    h.level.push(f.level[a]!);
    h.stress.push(f.stress[a]!);
    if (h.time.length > HISTORY_LIMIT) {
      h.time.shift();
      h.load.shift();
      h.level.shift();
      h.stress.shift();
    }
  };
  const actions: TwinActions = {
    setTopology(topology) {
      const index = indexTopology(topology);
      const layerVisible: Record<string, boolean> = {};
      for (const l of index.layers) layerVisible[l] = true;
      const fast = emptyFast(index.actorCount);
      store.setState({ topology, index, fast, layerVisible, selected: null, chain: [], summary: computeSummary(index, fast) });
    },
    applyFrame(delta, wallNow = performance.now()) {
      const f = store.getState().fast;
      if (delta.kind === FrameKind.Delta && delta.since !== f.frame) return false;
      const n = f.status.length;
      const sel = f.history.actor;
      let touchedSelected = false;
      for (let r = 0; r < delta.actors.length; r++) {
        const a = delta.actors[r]!;
        if (a < 0 || a >= n) continue;
        const s = delta.status[r]!;
        const was = f.status[a]!;
        if ((s === Status.Failed || s === Status.Faulted) && was !== Status.Failed && was !== Status.Faulted && f.applied > 0) {
          f.failedAtWall[a] = wallNow;
          if (f.pulses.length < MAX_PULSES) f.pulses.push({ from: -1, to: a, wall: wallNow });
        }
        f.status[a] = s;
        f.level[a] = delta.level[r]!;
        f.load[a] = delta.load[r]!;
        f.stress[a] = delta.stress[r]!;
        if (a === sel) touchedSelected = true;
      }
      if (delta.clock >= f.time || delta.kind === FrameKind.Snapshot) {
        f.time = delta.clock;
        f.timeAtWall = wallNow;
      }
      f.frame = delta.frame;
      f.applied++;
      f.version++;
      if (touchedSelected) pushHistory(f, sel);
      fastChanged();
      return true;
    },
    setClock(clock, wallNow = performance.now()) {
      const f = store.getState().fast;
      f.time = clock.time;
      f.timeAtWall = wallNow;
      f.speed = clock.speed;
      f.paused = clock.paused;
      f.version++;
      fastChanged();
    },
    refreshSummary() {
      const { index, fast, summary } = store.getState();
      if (!index) return null;
      if (summary && summary.version === fast.version) return summary;
      const next = computeSummary(index, fast);
      // Sample the selected actor even when no delta touched it, so its sparkline keeps time.
      if (fast.history.actor >= 0) pushHistory(fast, fast.history.actor);
      store.setState({ summary: next });
      return next;
    },
    onFast(listener) {
      fastListeners.add(listener);
      return () => fastListeners.delete(listener);
    },
    noteCause(to, from) {
      const pulses = store.getState().fast.pulses;
      for (let i = pulses.length - 1; i >= 0; i--) {
        const p = pulses[i]!;
        if (p.to === to) {
          if (p.from === -1) p.from = from;
          return;
        }
      }
    },
    select(actor) {
      const f = store.getState().fast;
      f.history = { actor: actor ?? -1, time: [], load: [], level: [], stress: [] };
      if (actor !== null) pushHistory(f, actor);
      store.setState({ selected: actor, chain: [] });
    },
    notify(kind, text) {
      const n: Notice = { id: ++noticeSeq, kind, text };
      store.setState((s) => ({ notices: [...s.notices.slice(-(MAX_NOTICES - 1)), n] }));
      // Toasts close by themselves (errors stay longer, to be read); ✕ closes one sooner.
      setTimeout(() => actions.dismiss(n.id), NOTICE_MS[kind]);
    },
    dismiss(id) {
      store.setState((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
    },
    switchSource(source, session = null) {
      const { index, fast: old, selected } = store.getState();
      const fast = emptyFast(index?.actorCount ?? 0);
      // Renderers skip a frame whose version they have drawn: keep the version moving forward.
      fast.version = old.version + 1;
      if (selected !== null) fast.history.actor = selected;
      store.setState({ source, session, fast, summary: index ? computeSummary(index, fast) : null, serverSummary: null, alerts: [], alertCount: 0, chain: [], preview: [] });
      fastChanged();
    },
  };
  return Object.assign(store, actions);
}

/** Displayed virtual time: the last received time advanced by wall time × speed (unless paused). */
export function displayTime(f: FastState, wallNow: number): number {
  if (f.paused || f.timeAtWall === 0) return f.time;
  return f.time + Math.max(0, wallNow - f.timeAtWall) * f.speed;
}
