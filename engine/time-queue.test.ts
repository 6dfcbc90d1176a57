import { describe, expect, it } from 'vitest';
import { Rng } from './rng.ts';
import { TimeQueue } from './time-queue.ts';

describe('time queue', () => {
  it('pops buckets in time order and keeps insertion (sequence) order within a bucket', () => {
    const q = new TimeQueue<string>();
    q.push(30, 'c1');
    q.push(10, 'a1');
    q.push(30, 'c2');
    q.push(20, 'b1');
    q.push(10, 'a2');
    expect(q.size).toBe(5);
    expect(q.popBucket()).toEqual({ time: 10, items: ['a1', 'a2'] });
    expect(q.popBucket()).toEqual({ time: 20, items: ['b1'] });
    expect(q.popBucket()).toEqual({ time: 30, items: ['c1', 'c2'] });
    expect(q.popBucket()).toBeUndefined();
  });

  it('orders thousands of random times like a sort would', () => {
    const rng = new Rng(9);
    const q = new TimeQueue<number>();
    const times = Array.from({ length: 5000 }, () => rng.int(1000));
    times.forEach((t, i) => q.push(t, i));
    const popped: number[] = [];
    for (let b = q.popBucket(); b !== undefined; b = q.popBucket()) popped.push(b.time);
    expect(popped).toEqual([...new Set(times)].sort((a, b) => a - b));
  });
});

describe('seeded rng', () => {
  it('repeats its stream for a seed and restores from saved words', () => {
    const a = new Rng(123);
    const b = new Rng(123);
    const xs = Array.from({ length: 10 }, () => a.next());
    expect(Array.from({ length: 10 }, () => b.next())).toEqual(xs);
    const saved = a.save();
    const next = a.next();
    expect(Rng.restore(saved).next()).toBe(next);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});
