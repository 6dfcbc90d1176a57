import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBehaviours } from '../../actors/index.ts';
import { Engine, generateCity, inputCommandSchema, parseCity, RealtimeRunner } from '../../engine/index.ts';
import { AuditLog } from './audit.ts';
import { Control } from './control.ts';
import { fastTelemetry } from './door-fast.ts';

const SEED = Number(process.env['FUZZ_SEED'] ?? 12);

/** Numbers around the schema's edges (finite, ≥ 0) and beyond them. */
const number = fc.oneof(
  fc.double(),
  fc.double({ min: 0, noNaN: true }),
  fc.constantFrom(0, -0, 5e-324, -5e-324, Number.MAX_VALUE, Infinity, -Infinity, NaN, -1, 1e308),
);
const anyValue = fc.oneof(number, fc.string({ maxLength: 4 }), fc.constant(null), fc.constant(undefined), fc.boolean(), fc.constant([1]), fc.constant({}), fc.bigInt());
const target = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('', 'pw-1', '__proto__'), anyValue);
const type = fc.oneof({ weight: 6, arbitrary: fc.constant('telemetry') }, { weight: 1, arbitrary: fc.constantFrom('fail', 'shed', 'Telemetry', '', 'telemetry ') }, { weight: 1, arbitrary: anyValue });
const key = fc.constantFrom('type', 'target', 'value', 'share', '__proto__', 'constructor', 'toString', 'x');

/** Readings as they arrive (JSON-decoded: plain objects, data properties) and their hostile relatives. */
const body: fc.Arbitrary<unknown> = fc.oneof(
  // Valid readings.
  { weight: 3, arbitrary: fc.record({ type: fc.constant('telemetry'), target: fc.string({ minLength: 1, maxLength: 12 }), value: fc.oneof(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }), fc.constant(-0)) }) },
  // Valid and nearly valid readings, in the schema's key order.
  fc.record({ type, target, value: number }, { requiredKeys: [] }),
  // Extra, missing or reordered keys.
  fc.tuple(fc.uniqueArray(key, { maxLength: 5 }), fc.array(anyValue, { minLength: 5, maxLength: 5 }), type, target, number).map(([keys, values, t, g, v]) => {
    const o: Record<string, unknown> = {};
    keys.forEach((k, i) => (o[k] = k === 'type' ? t : k === 'target' ? g : k === 'value' ? v : values[i]));
    return o;
  }),
  // Round trips through JSON, as the doors decode them (an own "__proto__" key included).
  fc.tuple(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('', 'pw-1'), number, fc.constant(null)), number, fc.boolean()).map(([g, v, proto]) => JSON.parse(`{"type":"telemetry","target":${JSON.stringify(g)},"value":${JSON.stringify(v)}${proto ? ',"__proto__":{"x":1}' : ''}}`) as unknown),
  // Other prototypes and non-objects.
  fc.tuple(target, number).map(([g, v]) => Object.assign(Object.create(null) as object, { type: 'telemetry', target: g, value: v })),
  fc.tuple(target, number).map(([g, v]) => Object.assign(Object.create({ inherited: 1 }) as object, { type: 'telemetry', target: g, value: v })),
  fc.tuple(target, number).map(([g, v]) => Object.assign(new (class Reading {})(), { type: 'telemetry', target: g, value: v })),
  fc.tuple(target, number).map(([g, v]) => Object.assign(['telemetry'], { type: 'telemetry', target: g, value: v })),
  anyValue,
  fc.anything(),
);

describe('the door\'s telemetry fast path (door-fast.ts) against the command schema', () => {
  it('accepts only what the schema accepts, with the same parsed value and the same journal line', () => {
    let taken = 0;
    fc.assert(
      fc.property(body, (input) => {
        const fast = fastTelemetry(input);
        if (fast === undefined) return;
        taken++;
        const parsed = inputCommandSchema.safeParse(input);
        expect(parsed.success).toBe(true);
        expect(fast).toStrictEqual(parsed.data);
        expect(Object.is((fast as { value: number }).value, (parsed.data as { value: number }).value)).toBe(true);
        expect(JSON.stringify(fast)).toBe(JSON.stringify(parsed.data));
      }),
      { seed: SEED, numRuns: 20_000 },
    );
    expect(taken).toBeGreaterThan(1_000); // the property was exercised on accepted inputs, not only on refusals
  });

  it('takes every valid reading as the doors decode it (JSON, schema key order)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }), (id, value) => {
        const input: unknown = JSON.parse(JSON.stringify({ type: 'telemetry', target: id, value }));
        expect(inputCommandSchema.safeParse(input).success).toBe(true);
        expect(fastTelemetry(input)).toStrictEqual(input);
      }),
      { seed: SEED, numRuns: 5_000 },
    );
  });

  it('gives the same door outcome as the schema path: same journal entries, same refusals, a tally instead of an entry per accepted reading', async () => {
    const city = parseCity(generateCity({ assets: 200, seed: 3 }), 'generated');
    const make = (): Promise<Engine> => Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'direct' });
    const [engineA, engineB] = await Promise.all([make(), make()]);
    const audit = new AuditLog();
    const control = new Control(engineA, new RealtimeRunner(engineA), audit);
    const injector = { name: 'feed', role: 'injector' as const, tokenHash: 'h' };
    const ids = [...engineA.index.ids.slice(0, 20), 'no-such-asset'];
    const reading = fc.oneof(
      fc.record({ type: fc.constant('telemetry'), target: fc.constantFrom(...ids), value: fc.oneof(fc.double({ min: 0, max: 500, noNaN: true }), fc.constantFrom(-1, NaN, Infinity)) }),
      body,
    );
    let refused = 0;
    fc.assert(
      fc.property(reading, (input) => {
        // The reference: the schema, then Engine.submit with the door's source.
        const parsed = inputCommandSchema.safeParse(input);
        // Other commands take the general path in both (operator actions add live-state checks the reference does not make).
        fc.pre(!parsed.success || parsed.data.type === 'telemetry');
        let expected: string;
        try {
          if (!parsed.success) throw new Error('invalid');
          expected = JSON.stringify(engineB.submit(parsed.data, { source: 'http:feed' }));
        } catch {
          expected = 'refused';
        }
        let actual: string;
        try {
          actual = JSON.stringify(control.command(injector, input, 'http'));
        } catch {
          actual = 'refused';
          refused++;
        }
        expect(actual).toBe(expected);
      }),
      { seed: SEED, numRuns: 3_000 },
    );
    await engineA.runUntil(60_000);
    await engineB.runUntil(60_000);
    expect(engineA.summary().stateHash).toBe(engineB.summary().stateHash);
    const accepted = engineA.journal.length;
    expect(accepted).toBeGreaterThan(100);
    expect(audit.acceptedTallies()).toEqual([expect.objectContaining({ who: 'feed', role: 'injector', via: 'http', action: 'inject.telemetry', accepted })]);
    // Every refusal is its own audit entry; no accepted reading is.
    expect(audit.count).toBe(refused);
    expect(audit.list(10_000).every((e) => e.result !== 'ok')).toBe(true);
    await Promise.all([engineA.stop(), engineB.stop()]);
  });
});
