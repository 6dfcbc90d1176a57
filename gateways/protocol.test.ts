import { describe, expect, it } from 'vitest';
import { CAUSE_NAMES, Rng, Status, STATUS_NAMES } from '../engine/index.ts';
import {
  applyFrame,
  createViewState,
  decodeFrame,
  encodeFrame,
  FrameKind,
  normaliseView,
  peekFrameHeader,
  viewKey,
  WIRE_CAUSE_NAMES,
  WIRE_STATUS_NAMES,
  WireStatus,
} from './protocol.ts';

describe('protocol code tables', () => {
  it('mirror the engine status and cause tables', () => {
    expect(WireStatus).toEqual(Status);
    expect([...WIRE_STATUS_NAMES]).toEqual([...STATUS_NAMES]);
    expect([...WIRE_CAUSE_NAMES]).toEqual([...CAUSE_NAMES]);
  });
});

describe('frame codec', () => {
  it('round-trips a delta with unsorted actors, quantising level and stress', () => {
    const bytes = encodeFrame({
      kind: FrameKind.Delta, frame: 300, since: 299, clock: 123_456.5,
      actors: [70_000, 3, 200], status: [2, 0, 1], level: [0, 1, 0.5], load: [0, 12.5, 3.25], stress: [3, 0.4, 0.99],
    });
    const f = decodeFrame(bytes);
    expect(f.kind).toBe(FrameKind.Delta);
    expect(f.frame).toBe(300);
    expect(f.since).toBe(299);
    expect(f.clock).toBe(123_456.5);
    expect([...f.actors]).toEqual([3, 200, 70_000]);
    expect([...f.status]).toEqual([0, 1, 2]);
    expect([...f.load]).toEqual([12.5, 3.25, 0]);
    expect(f.level[0]).toBe(1);
    expect(Math.abs(f.level[1]! - 0.5)).toBeLessThan(1 / 255);
    expect(f.stress[2]).toBeCloseTo(2.55, 5);
    expect(peekFrameHeader(bytes)).toEqual({ kind: FrameKind.Delta, frame: 300, since: 299, clock: 123_456.5, count: 3 });
  });

  it('[seeded fuzz] stays under 10 bytes per actor for dense and sparse updates of a 100k city', () => {
    const rng = new Rng(7);
    for (const k of [10, 100, 1000, 20_000]) {
      const set = new Set<number>();
      while (set.size < k) set.add(Math.floor(rng.next() * 100_000));
      const actors = [...set];
      const bytes = encodeFrame({
        kind: FrameKind.Delta, frame: 1, since: 0, clock: 0, actors,
        status: actors.map(() => 1), level: actors.map(() => rng.next()), load: actors.map(() => rng.next() * 100), stress: actors.map(() => rng.next()),
      });
      expect((bytes.length - 20) / k).toBeLessThanOrEqual(10);
      if (k >= 100) expect(bytes.length / k).toBeLessThanOrEqual(10);
      const f = decodeFrame(bytes);
      expect([...f.actors]).toEqual(actors.sort((a, b) => a - b));
    }
  });

  it('applyFrame reports a gap when a delta does not follow the last frame', () => {
    const state = createViewState(10);
    const snap = decodeFrame(encodeFrame({ kind: FrameKind.Snapshot, frame: 5, since: 0, clock: 0, actors: [1], status: [0], level: [1], load: [1], stress: [0] }));
    expect(applyFrame(state, snap)).toBe(true);
    const gap = decodeFrame(encodeFrame({ kind: FrameKind.Delta, frame: 7, since: 6, clock: 0, actors: [1], status: [2], level: [0], load: [0], stress: [0] }));
    expect(applyFrame(state, gap)).toBe(false);
    const next = decodeFrame(encodeFrame({ kind: FrameKind.Delta, frame: 6, since: 5, clock: 0, actors: [1], status: [2], level: [0], load: [0], stress: [0] }));
    expect(applyFrame(state, next)).toBe(true);
    expect(state.status[1]).toBe(2);
  });

  it('equal views share a key regardless of list order', () => {
    expect(viewKey(normaliseView({ layers: ['water', 'power'] }))).toBe(viewKey(normaliseView({ layers: ['power', 'water', 'power'], maxRateHz: 10 })));
    expect(viewKey(normaliseView({}))).not.toBe(viewKey(normaliseView({ maxRateHz: 5 })));
  });
});
