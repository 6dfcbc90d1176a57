import { expect, it } from 'vitest';
import type { ActorView, BusPort, CachePort, HistoryPort, JournalEntry, StateChange } from '../../engine/index.ts';
import { waitFor } from './testing.ts';

/**
 * One contract per port, run against every implementation (in-process and real): the same
 * behaviour either way. Each `make` returns a fresh, empty adapter and its clean-up.
 */
export type Make<T> = () => Promise<{ port: T; cleanup?: () => Promise<void> }>;

async function using<T extends { close(): Promise<void> }>(make: Make<T>, body: (port: T) => Promise<void>): Promise<void> {
  const { port, cleanup } = await make();
  try {
    await body(port);
  } finally {
    await port.close();
    await cleanup?.();
  }
}

const bytes = (v: Uint8Array | string): string => Buffer.from(typeof v === 'string' ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)).toString('utf8');

export function busContract(make: Make<BusPort>, topicPrefix: string): void {
  it('[bus] delivers a published message to a subscriber, with its key and bytes', async () => {
    await using(make, async (bus) => {
      const topic = `${topicPrefix}-a`;
      const got: Array<[string, string]> = [];
      const off = await bus.subscribe(topic, (key, value) => void got.push([key, bytes(value)]));
      await bus.publish(topic, 'pw-1', 'hello');
      await bus.publish(topic, 'pw-2', new TextEncoder().encode('{"v":1}'));
      await waitFor('two messages', () => got.length >= 2, 15_000);
      expect(got).toEqual([['pw-1', 'hello'], ['pw-2', '{"v":1}']]);
      await off();
    });
  });

  it('[bus] keeps per-key order and does not deliver other topics', async () => {
    await using(make, async (bus) => {
      const got: string[] = [];
      const off = await bus.subscribe(`${topicPrefix}-b`, (_k, value) => void got.push(bytes(value)));
      await bus.publish(`${topicPrefix}-c`, 'x', 'other topic');
      for (let i = 0; i < 20; i++) await bus.publish(`${topicPrefix}-b`, 'same-key', String(i));
      await waitFor('twenty messages', () => got.length >= 20, 15_000);
      expect(got).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
      await off();
    });
  });

  it('[bus] stops delivering after unsubscribe', async () => {
    await using(make, async (bus) => {
      const topic = `${topicPrefix}-d`;
      const got: string[] = [];
      const off = await bus.subscribe(topic, (_k, value) => void got.push(bytes(value)));
      await bus.publish(topic, 'k', 'before');
      await waitFor('first message', () => got.length === 1, 15_000);
      await off();
      await bus.publish(topic, 'k', 'after');
      await new Promise((r) => setTimeout(r, 300));
      expect(got).toEqual(['before']);
    });
  });
}

const view = (status: number, level: number, load: number, stress: number): ActorView => ({ status: status as ActorView['status'], level, load, stress });

export function sampleChanges(count: number, actors = 5): StateChange[] {
  const out: StateChange[] = [];
  for (let i = 0; i < count; i++) {
    const actor = i % actors;
    out.push({
      time: 1_000 * i + 7,
      seq: i,
      actor,
      before: view(0, 1, 10 + i / 3, 0.1 * (i % 7)),
      after: view(i % 3, 1 - i / (count + 1), 10.123456789 + i / 7, 0.3333333333333333 + i),
      cause: i % 4 === 0 ? null : { code: 4 as never, from: (i * 7) % 11, seq: Math.max(0, i - 1), time: 1_000 * i + 7 },
    });
  }
  return out;
}

export function historyContract(make: Make<HistoryPort>): void {
  it('[history] returns one actor’s changes in a closed time range, oldest first, exactly as written', async () => {
    await using(make, async (history) => {
      const changes = sampleChanges(50);
      await history.appendChanges(changes.slice(0, 20));
      await history.appendChanges(changes.slice(20));
      const got = await history.actorHistory(2, 7_007, 32_007);
      const want = changes.filter((c) => c.actor === 2 && c.time >= 7_007 && c.time <= 32_007);
      expect(want.length).toBeGreaterThan(3);
      expect(got).toEqual(want);
      expect(await history.actorHistory(99, 0, 1e9)).toEqual([]);
    });
  });

  it('[history] stores a run’s journal and reads it back whole and in order; runs are separate', async () => {
    await using(make, async (history) => {
      const entries: JournalEntry[] = [
        { seq: 0, time: 0, source: 'scenario:heat', command: { type: 'ambient', target: 'district:d0', celsius: 41.5 } },
        { seq: 1, time: 60_000, source: 'kafka:t:0', sourceSeq: 17, command: { type: 'telemetry', target: 'pw-tx-1', value: 3.25 } },
        { seq: 2, time: 60_001, source: 'http:ops', command: { type: 'fail', target: 'pw-tx-2', severity: 0.5, hazard: 'flood' } },
      ];
      await history.appendJournal('run-a', entries.slice(0, 1));
      await history.appendJournal('run-a', entries.slice(1));
      await history.appendJournal('run-b', [{ seq: 0, time: 5, source: 'cli', command: { type: 'repair', target: 'x' } }]);
      expect(await history.readJournal('run-a')).toEqual(entries);
      expect(await history.readJournal('run-b')).toHaveLength(1);
      expect(await history.readJournal('nope')).toEqual([]);
    });
  });
}

export function cacheContract(make: Make<CachePort>): void {
  it('[cache] returns the latest view per id, undefined for unknown ids, in the order asked', async () => {
    await using(make, async (cache) => {
      await cache.putLatest([['a', view(0, 1, 2.5, 0.1)], ['b', view(2, 0, 0, 0)]]);
      await cache.putLatest([['a', view(1, 0.4, 7.000000000000001, 1.2345678901234567)]]);
      expect(await cache.getLatest(['b', 'zzz', 'a'])).toEqual([view(2, 0, 0, 0), undefined, view(1, 0.4, 7.000000000000001, 1.2345678901234567)]);
      expect(await cache.getLatest([])).toEqual([]);
    });
  });

  it('[cache] takes many entries at once', async () => {
    await using(make, async (cache) => {
      const entries = Array.from({ length: 25_000 }, (_, i) => [`id-${i}`, view(i % 4, 0.5, i, i / 3)] as const);
      await cache.putLatest(entries);
      const got = await cache.getLatest(['id-0', 'id-24999']);
      expect(got).toEqual([entries[0]![1], entries[24_999]![1]]);
    });
  });
}
