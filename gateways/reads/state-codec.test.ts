import { describe, expect, it } from 'vitest';
import { decodeColumns, encodeColumns, parseEntryHeader } from './state-codec.ts';

const summary = {
  stateHash: 'h', events: 1, failed: 0, degraded: 0, simulatedSeconds: 0, inputs: 0, deliveries: 0, instants: 0, escalations: 0, cityHash: 'c', seed: 1, driver: 'nact',
  peopleWithoutNow: { power: 0, water: 0, telecom: 0 }, peopleHoursWithout: { power: 0, water: 0, telecom: 0 }, hospitalHoursDegraded: 0,
  cost: { currency: 'EUR', total: 0, assets: 0, people: 0, perHour: 0 },
};
const context = JSON.stringify({ clock: { virtualMs: 5, speed: 1, paused: false, wallMs: 9 }, summary, topologyEtag: '"t"' });
const fields = (over: Record<string, string | Buffer>): Map<string, Buffer> =>
  new Map(Object.entries({ e: 'ep', n: '3', k: 'd', j: context, b: encodeColumns([], () => ({ status: 0, level: 0, load: 0, stress: 0 })), ...over }).map(([k, v]) => [k, Buffer.isBuffer(v) ? v : Buffer.from(v)]));

describe('state entries (engine → gateway reads)', () => {
  it('carry the kernel\'s numbers exactly (no rounding, unlike frames)', () => {
    const values = new Map([[2, { status: 1, level: 0.7341234567, load: 123.456789012345, stress: 1.0000001 }], [9, { status: 2, level: 1 / 3, load: 0, stress: 2.9999 }]]);
    const columns = decodeColumns(encodeColumns([2, 9], (a) => values.get(a)!), 10);
    expect(Array.from(columns.actors)).toEqual([2, 9]);
    expect(Array.from(columns.status)).toEqual([1, 2]);
    expect(Array.from(columns.level)).toEqual([0.7341234567, 1 / 3]);
    expect(Array.from(columns.load)).toEqual([123.456789012345, 0]);
    expect(Array.from(columns.stress)).toEqual([1.0000001, 2.9999]);
  });

  it('refuse columns of the wrong size or naming an actor the city does not have', () => {
    const one = encodeColumns([4], () => ({ status: 0, level: 0, load: 0, stress: 0 }));
    expect(() => decodeColumns(one.subarray(0, one.length - 1), 10)).toThrow('state columns: 32 bytes for 1 actors (expected 33)');
    expect(() => decodeColumns(Buffer.alloc(2), 10)).toThrow('at least 4');
    expect(() => decodeColumns(one, 4)).toThrow('actor 4 at position 0, the city has 4');
  });

  it('check the header fields, naming the one that is wrong', () => {
    expect(parseEntryHeader(fields({}))).toMatchObject({ epoch: 'ep', n: 3, kind: 'delta', context: { topologyEtag: '"t"' } });
    expect(parseEntryHeader(fields({ k: 's' })).kind).toBe('snapshot');
    expect(() => parseEntryHeader(fields({ n: '-1' }))).toThrow('n is "-1"');
    expect(() => parseEntryHeader(fields({ k: 'x' }))).toThrow('k is "x"');
    expect(() => parseEntryHeader(fields({ j: '{' }))).toThrow('j is not JSON');
    expect(() => parseEntryHeader(fields({ j: JSON.stringify({ clock: {}, summary, topologyEtag: 'x' }) }))).toThrow(/j: clock\.virtualMs/);
    const noColumns = fields({});
    noColumns.delete('b');
    expect(() => parseEntryHeader(noColumns)).toThrow('no field "b"');
  });
});
