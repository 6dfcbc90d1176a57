import { describe, expect, it } from 'vitest';
import { createBehaviours } from '../actors/index.ts';
import { Engine, generateCity, parseCity, type InputCommand } from '../engine/index.ts';

/**
 * `Engine.submitBatch` (the Kafka ingest path) must be indistinguishable from calling `submit` for
 * each input in order: the same journal, the same rejections, the same state-change stream.
 */
const city = parseCity(generateCity({ assets: 300, seed: 5 }), 'generated');

async function engine(): Promise<Engine> {
  return Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 5, driver: 'direct' });
}

/** A seeded mix: mostly telemetry, some repeated targets, selectors, unknown and wrong-kind targets, duplicates. */
function inputs(seed: number, count: number, firstSeq: number): { commands: InputCommand[]; seqs: number[] } {
  let x = seed >>> 0;
  const next = (): number => ((x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
  const ids = city.assets.map((a) => a.id);
  const cohorts = city.cohorts.map((c) => c.id);
  const commands: InputCommand[] = [];
  const seqs: number[] = [];
  let seq = firstSeq;
  for (let i = 0; i < count; i++) {
    const r = next();
    const asset = ids[Math.floor(next() * 40)]!;
    if (r < 0.75) commands.push({ type: 'telemetry', target: asset, value: Math.round(next() * 200) / 10 });
    else if (r < 0.8) commands.push({ type: 'telemetry', target: 'no-such-asset', value: 1 });
    else if (r < 0.83 && cohorts.length > 0) commands.push({ type: 'telemetry', target: cohorts[0]!, value: 1 });
    else if (r < 0.86) commands.push({ type: 'fail', target: asset, severity: 0.5 });
    else if (r < 0.89) commands.push({ type: 'ambient', target: 'district:d0', celsius: 38 });
    else if (r < 0.92) commands.push({ type: 'repair', target: asset });
    else if (r < 0.95) commands.push({ type: 'order', target: asset, order: 'shelter' });
    else commands.push({ type: 'telemetry', target: 'layer:power', value: 2 });
    // Now and then a redelivered (older) seq: a duplicate.
    seqs.push(next() < 0.05 ? seq - 3 : seq);
    seq++;
  }
  return { commands, seqs };
}

describe('Engine.submitBatch', () => {
  it('journals, rejects and schedules exactly like submit called in order, and the stream hash is the same', async () => {
    const one = await engine();
    const many = await engine();
    try {
      let seq = 0;
      for (let batch = 0; batch < 12; batch++) {
        const { commands, seqs } = inputs(batch + 1, 400, seq);
        seq += 400;
        const rejectedOne: number[] = [];
        let accepted = 0;
        let duplicates = 0;
        commands.forEach((command, i) => {
          try {
            if (one.submit(command, { source: 'kafka:t:0', sourceSeq: seqs[i]! }) === undefined) duplicates++;
            else accepted++;
          } catch {
            rejectedOne.push(i);
          }
        });
        const rejectedMany: number[] = [];
        const result = many.submitBatch(commands, { source: 'kafka:t:0', sourceSeqs: seqs }, (i) => rejectedMany.push(i));
        expect(result).toEqual({ accepted, duplicates });
        expect(rejectedMany).toEqual(rejectedOne);
        expect(rejectedOne.length).toBeGreaterThan(0);
        await one.runUntil(one.now + 1_000);
        await many.runUntil(many.now + 1_000);
      }
      expect(many.journal.entries).toEqual(one.journal.entries);
      expect(many.journal.lastSourceSeq('kafka:t:0')).toBe(one.journal.lastSourceSeq('kafka:t:0'));
      expect(many.summary().events).toBeGreaterThan(100);
      expect(many.summary()).toEqual(one.summary());
    } finally {
      await one.stop();
      await many.stop();
    }
  });
});
