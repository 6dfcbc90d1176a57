import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTwinStore, displayTime, indexTopology, MAX_NOTICES, NOTICE_MS, row, WORST_LIMIT } from './store.ts';
import { decodeFrame, FrameKind, Status } from './model.ts';
import { encodeFrame } from '../../gateways/protocol.ts';
import { gridTopology, topologyOf, type FixtureAsset } from './fixtures.ts';

const at = (x: number, y: number) => ({ x, y, z: 0 });
const assets: FixtureAsset[] = [
  { id: 'gen', kind: 'generator', layer: 'power', district: 'north', position: at(0, 0) },
  { id: 'sub', kind: 'distribution-substation', layer: 'power', district: 'north', position: at(100, 0) },
  { id: 'pump', kind: 'pumping-station', layer: 'water', district: 'north', position: at(100, 100) },
  { id: 'tower', kind: 'tower', layer: 'telecom', district: 'south', position: at(0, 100) },
  { id: 'hosp', kind: 'hospital', layer: 'emergency', district: 'south', position: at(50, 50) },
];
const city = () =>
  topologyOf({
    assets,
    cohorts: [
      { id: 'co-north', district: 'north', population: 1000 },
      { id: 'co-south', district: 'south', population: 400 },
    ],
    links: [['gen', 'sub']],
    dependencies: [
      ['sub', 'pump'],
      ['sub', 'hosp'],
      ['tower', 'hosp'],
    ],
    reliance: [
      ['co-north', 'sub'],
      ['co-north', 'pump'],
      ['co-south', 'tower'],
      ['co-south', 'sub'],
    ],
  });

function delta(frame: number, since: number, clock: number, rows: [number, number, number, number, number][]) {
  return {
    kind: FrameKind.Delta,
    frame,
    since,
    clock,
    actors: rows.map((r) => r[0]),
    status: rows.map((r) => r[1]),
    level: rows.map((r) => r[2]),
    load: rows.map((r) => r[3]),
    stress: rows.map((r) => r[4]),
  };
}

describe('twin store', () => {
  it('indexes the wire topology: providers, dependents, hospitals, reliance, laid-out positions', () => {
    const store = createTwinStore();
    store.setTopology(city());
    const ix = store.getState().index!;
    expect(ix.actorCount).toBe(7);
    expect(ix.kinds.at(-1)).toBe('cohort');
    expect([...ix.hospitals]).toEqual([4]);
    expect([...ix.providers.items.subarray(ix.providers.offsets[4]!, ix.providers.offsets[5]!)].sort()).toEqual([1, 3]);
    expect(ix.relianceEstimated).toBe(false);
    // Centred on the city: gen at (-50, 0, +50) in scene axes (x east, y up, z south).
    expect([...ix.positions.subarray(0, 3)]).toEqual([-50, 0, 50]);
    expect(store.getState().summary!.population).toBe(1400);
  });

  it('applies frames in place without notifying subscribers, and detects a gap', () => {
    const store = createTwinStore();
    store.setTopology(city());
    let notified = 0;
    store.subscribe(() => notified++);
    const snapshot = { ...delta(1, 0, 1000, [[0, 0, 1, 10, 0.1], [1, 0, 1, 20, 0.2]]), kind: FrameKind.Snapshot };
    expect(store.applyFrame(snapshot, 5)).toBe(true);
    expect(store.applyFrame(delta(2, 1, 2000, [[1, Status.Failed, 0, 0, 0]]), 10)).toBe(true);
    const f = store.getState().fast;
    expect(f.status[1]).toBe(Status.Failed);
    expect(f.frame).toBe(2);
    expect(f.time).toBe(2000);
    expect(f.version).toBe(2);
    expect(f.failedAtWall[1]).toBe(10);
    expect(f.pulses).toEqual([{ from: -1, to: 1, wall: 10 }]);
    store.noteCause(1, 0);
    expect(f.pulses[0]!.from).toBe(0);
    expect(notified).toBe(0);
    // Frame 4 built on 3, but we hold 2: refuse, change nothing.
    expect(store.applyFrame(delta(4, 3, 4000, [[0, Status.Failed, 0, 0, 0]]))).toBe(false);
    expect(f.status[0]).toBe(Status.Ok);
    expect(f.version).toBe(2);
  });

  it('counts the headline numbers: out by layer, people without power/water/telecom, hospitals degraded', () => {
    const store = createTwinStore();
    store.setTopology(city());
    store.applyFrame(delta(1, 0, 0, [[1, Status.Failed, 0, 0, 0], [4, Status.Degraded, 0.6, 5, 0.5], [2, Status.Ok, 0.4, 1, 0.1]]));
    const s = store.refreshSummary()!;
    const power = s.byLayer.find((l) => l.layer === 'power')!;
    expect(power).toEqual({ layer: 'power', total: 2, out: 1, degraded: 0 });
    expect(s.peopleWithout).toEqual({ power: 1400, water: 1000, telecom: 0 });
    expect(s.hospitalsDegraded).toBe(1);
    expect(s.hospitalsTotal).toBe(1);
    expect(s.worst[0]).toBe(1);
    expect(s.worst[1]).toBe(4);
    expect(s.failing).toBe(2);
    // Unchanged columns: the same summary object comes back (no React update).
    expect(store.refreshSummary()).toBe(s);
  });

  it('estimates reliance per district when the topology has none', () => {
    const store = createTwinStore();
    const t = city();
    delete t.reliance;
    store.setTopology(t);
    expect(store.getState().index!.relianceEstimated).toBe(true);
    store.applyFrame(delta(1, 0, 0, [[3, Status.Failed, 0, 0, 0]]));
    expect(store.refreshSummary()!.peopleWithout.telecom).toBe(400);
  });

  it('keeps the crisis list bounded and ordered worst first on a large city', () => {
    const store = createTwinStore();
    store.setTopology(gridTopology(20_000));
    const rows: [number, number, number, number, number][] = [];
    for (let i = 0; i < 5000; i++) rows.push([i * 4, i % 7 === 0 ? Status.Failed : Status.Degraded, 0.5, 1, (i % 100) / 100]);
    store.applyFrame(delta(1, 0, 0, rows));
    const s = store.refreshSummary()!;
    expect(s.worst.length).toBe(WORST_LIMIT);
    expect(s.failing).toBe(5000);
    const f = store.getState().fast;
    for (const a of s.worst.slice(0, 10)) expect(f.status[a]).toBe(Status.Failed);
  });

  it('records a sparkline history for the selected actor only', () => {
    const store = createTwinStore();
    store.setTopology(city());
    store.select(2);
    store.applyFrame(delta(1, 0, 1000, [[2, Status.Ok, 1, 5, 0.05], [1, Status.Ok, 1, 9, 0.1]]));
    store.applyFrame(delta(2, 1, 2000, [[2, Status.Degraded, 0.5, 7, 0.7]]));
    const h = store.getState().fast.history;
    expect(h.actor).toBe(2);
    expect(h.load).toEqual([0, 5, 7]);
    expect(h.time).toEqual([0, 1000, 2000]);
  });

  it('lists linked assets in both directions (the reroute targets)', () => {
    const store = createTwinStore();
    store.setTopology(city());
    const ix = store.getState().index!;
    expect([...row(ix.linked, 0)]).toEqual([1]);
    expect([...row(ix.linked, 1)]).toEqual([0]);
    expect([...row(ix.linked, 2)]).toEqual([]);
  });

  it('switching the source clears columns, headline, alerts and cascades, and keeps renderers moving', () => {
    const store = createTwinStore();
    store.setTopology(city());
    store.applyFrame(delta(1, 0, 90_000, [[1, Status.Failed, 0, 0, 0]]));
    store.setState({ alerts: [{ time: 1, actor: 1, id: 'sub', layer: 'power', status: 'failed', cause: 'damage', causedBy: 'input' }], alertCount: 1 });
    expect(store.refreshSummary()!.byLayer[0]!.out).toBe(1);
    const before = store.getState().fast.version;
    let fastCalls = 0;
    store.onFast(() => fastCalls++);
    store.switchSource('s-1');
    const s = store.getState();
    expect(s.source).toBe('s-1');
    expect(s.fast.status[1]).toBe(Status.Ok);
    expect(s.fast.frame).toBe(0);
    expect(s.fast.time).toBe(0);
    expect(s.fast.pulses).toEqual([]);
    expect(s.fast.version).toBeGreaterThan(before);
    expect(s.summary!.byLayer[0]!.out).toBe(0);
    expect(s.alerts).toEqual([]);
    expect(s.alertCount).toBe(0);
    expect(fastCalls).toBe(1);
    // The new source's snapshot applies on top of the fresh columns.
    expect(store.applyFrame({ ...delta(3, 0, 1000, [[2, Status.Failed, 0, 0, 0]]), kind: FrameKind.Snapshot })).toBe(true);
    expect(store.getState().fast.status[2]).toBe(Status.Failed);
  });

  it('advances the displayed clock with wall time × speed unless paused', () => {
    const store = createTwinStore();
    store.setClock({ time: 60_000, speed: 10, paused: false }, 1000);
    expect(displayTime(store.getState().fast, 1500)).toBe(65_000);
    store.setClock({ time: 60_000, speed: 10, paused: true }, 1000);
    expect(displayTime(store.getState().fast, 1500)).toBe(60_000);
  });
});

describe('frame decoding path', () => {
  it('decodes bytes from the wire codec straight into the store columns', () => {
    const store = createTwinStore();
    store.setTopology(city());
    const snap = encodeFrame({ kind: FrameKind.Snapshot, frame: 1, since: 0, clock: 0, actors: [0, 1, 2, 3, 4, 5, 6], status: [0, 0, 0, 0, 0, 0, 0], level: [1, 1, 1, 1, 1, 1, 1], load: [1, 2, 3, 4, 5, 6, 7], stress: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7] });
    const bytes = encodeFrame({ kind: FrameKind.Delta, frame: 2, since: 1, clock: 30_000, actors: [4, 1], status: [Status.Degraded, Status.Failed], level: [0.5, 0], load: [3.5, 0], stress: [0.9, 0] });
    expect(store.applyFrame(decodeFrame(snap))).toBe(true);
    // An ArrayBuffer, as a browser receives it from Socket.io.
    const ab = new Uint8Array(bytes).buffer;
    expect(store.applyFrame(decodeFrame(ab))).toBe(true);
    const f = store.getState().fast;
    expect(f.status[1]).toBe(Status.Failed);
    expect(f.status[4]).toBe(Status.Degraded);
    expect(f.level[4]).toBeCloseTo(0.5, 2);
    expect(f.load[4]).toBe(3.5);
    expect(f.stress[4]).toBeCloseTo(0.9, 5);
    expect(f.load[6]).toBe(7);
    expect(f.time).toBe(30_000);
    expect(store.refreshSummary()!.peopleWithout.power).toBe(1400);
  });

  it('a resubscribe snapshot after a gap replaces the state', () => {
    const store = createTwinStore();
    store.setTopology(city());
    store.applyFrame(delta(1, 0, 0, [[1, Status.Failed, 0, 0, 0]]));
    expect(store.applyFrame(delta(9, 8, 0, []))).toBe(false);
    const snap = encodeFrame({ kind: FrameKind.Snapshot, frame: 12, since: 0, clock: 5000, actors: [1], status: [0], level: [1], load: [4], stress: [0.04] });
    expect(store.applyFrame(decodeFrame(snap))).toBe(true);
    expect(store.getState().fast.status[1]).toBe(Status.Ok);
    expect(store.applyFrame(delta(13, 12, 6000, []))).toBe(true);
  });
});

describe('what a tired operator needs from the store', () => {
  afterEach(() => void vi.useRealTimers());

  it('closes toasts by themselves (errors stay longest) and keeps at most a few', () => {
    vi.useFakeTimers();
    const store = createTwinStore();
    store.notify('ok', 'done');
    store.notify('error', 'refused');
    vi.advanceTimersByTime(NOTICE_MS.ok + 1);
    expect(store.getState().notices.map((n) => n.text)).toEqual(['refused']);
    vi.advanceTimersByTime(NOTICE_MS.error);
    expect(store.getState().notices).toEqual([]);
    for (let i = 0; i < 10; i++) store.notify('info', `n${i}`);
    expect(store.getState().notices).toHaveLength(MAX_NOTICES);
  });

  it('starts with the stress heat map off, so healthy assets are not tinted amber', () => {
    expect(createTwinStore().getState().heatmap).toBe(false);
  });

  it('knows which linked neighbours feed an asset: hop distance from the sources of its layer', () => {
    const index = indexTopology({ ...city(), source: [1, 0, 0, 0, 0] });
    const [gen, sub, pump] = ['gen', 'sub', 'pump'].map((id) => index.indexOf.get(id)!);
    expect(index.sourceDistance[gen!]).toBe(0);
    expect(index.sourceDistance[sub!]).toBe(1);
    expect(index.sourceDistance[pump!]).toBe(-1); // no water source: no direction
  });
});
