import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../engine/index.ts';
import { AssetKeys, decodeValue, fastTelemetryValue, telemetryCommand } from './kafka.ts';

describe('Kafka telemetry decoding (no broker needed)', () => {
  it('accepts JSON and msgpack values, as objects or bare numbers', () => {
    expect(telemetryCommand('pw-fd-1', decodeValue(Buffer.from('{"value": 4.5, "seq": 3}')), 'kafka:t:0')).toEqual({ type: 'telemetry', target: 'pw-fd-1', value: 4.5 });
    expect(telemetryCommand('pw-fd-1', decodeValue(Buffer.from('7')), 'kafka:t:0')).toEqual({ type: 'telemetry', target: 'pw-fd-1', value: 7 });
    expect(telemetryCommand('pw-fd-1', decodeValue(pack({ value: 2 })), 'kafka:t:0')).toEqual({ type: 'telemetry', target: 'pw-fd-1', value: 2 });
  });

  it('rejects a missing key, a missing, negative or non-numeric value and a bad seq, naming the field', () => {
    const problem = (key: string | undefined, value: unknown): string => {
      try {
        telemetryCommand(key, value, 'kafka:t:0');
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        return (error as ValidationError).problems.map((p) => `${p.path}: ${p.reason}`).join('; ');
      }
      return 'accepted';
    };
    expect(problem(undefined, { value: 1 })).toMatch(/^key: /);
    expect(problem('a', {})).toMatch(/^value\.value: telemetry needs a numeric value/);
    expect(problem('a', { value: -1 })).toMatch(/^value\.value: must be a finite number ≥ 0/);
    expect(problem('a', { value: '3' })).toMatch(/^value\.value: must be a finite number/);
    expect(problem('a', { value: 1, seq: 1.5 })).toMatch(/^value\.seq: /);
    expect(() => decodeValue(Buffer.from('{oops'))).toThrow(/not valid JSON/);
  });

  it('reads the common JSON and msgpack shapes straight from the bytes, to the same double as the general path', () => {
    const general = (b: Buffer): number => (telemetryCommand('a', decodeValue(b), 'kafka:t:0') as { value: number }).value;
    let x = 7;
    const next = (): number => ((x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
    let fast = 0;
    for (let i = 0; i < 6_000; i++) {
      // Decimals of every length up to 17 digits: ≤ 15 take the fast path, longer ones fall back.
      const digits = 1 + Math.floor(next() * 17);
      const point = Math.floor(next() * (digits + 1));
      let text = String(1 + Math.floor(next() * 9));
      for (let d = 1; d < digits; d++) text += String(Math.floor(next() * 10));
      const number = point === 0 || point === digits ? text : `${text.slice(0, point)}.${text.slice(point)}`;
      for (const b of [Buffer.from(`{"value":${number}}`), Buffer.from(`{"value":${number},"seq":${i}}`), Buffer.from(`{"value":0.${text}}`)]) {
        const got = fastTelemetryValue(b);
        if (got !== undefined) {
          fast++;
          expect(Object.is(got, general(b)), b.toString()).toBe(true);
        }
      }
      const v = Number(number);
      for (const b of [pack({ value: v }), pack({ value: v, seq: i }), pack({ value: Math.floor(v) % 70_000 })]) {
        const got = fastTelemetryValue(b);
        expect(got === undefined || Object.is(got, general(b)), String(v)).toBe(true);
        if (got !== undefined) fast++;
      }
    }
    expect(fast).toBeGreaterThan(24_000);
    // Fixmap encodings (other msgpack libraries) too.
    expect(fastTelemetryValue(Buffer.from([0x81, 0xa5, 0x76, 0x61, 0x6c, 0x75, 0x65, 0xcd, 0x01, 0x2c]))).toBe(300);
  });

  it('leaves every other shape to the general path (which accepts or rejects it with its own message)', () => {
    const odd = ['{"value": 1}', '{"value":-1}', '{"value":-0}', '{"value":1e3}', '{"value":01}', '{"value":1.}', '{"value":.5}', '{"value":1,"seq":1.5}',
      '{"value":1,"seq":-2}', '{"value":1,"seq":01}', '{"value":1,"other":2}', '{"value":1} ', '{"value":1', '{"seq":1,"value":2}', '{"value":"3"}', '{"value":1234567890123456}', '5', '{}'];
    for (const text of odd) expect(fastTelemetryValue(Buffer.from(text)), text).toBeUndefined();
    for (const value of [pack({ value: -1 }), pack({ value: Number.NaN }), pack({ value: 1, seq: 1.5 }), pack({ value: 1, extra: 2 }), pack({ seq: 1, value: 2 }), pack({ value: 1 }).subarray(0, 8)]) {
      expect(fastTelemetryValue(value)).toBeUndefined();
    }
  });

  it('finds asset ids by the bytes of a key, exactly as key.toString() would name them', () => {
    const ids = [...Array.from({ length: 3_000 }, (_, i) => `pw-${i}`), 'wasser-straße-1', 'ö', 'o', '电-1', ''];
    const keys = new AssetKeys(ids);
    ids.forEach((id, i) => expect(keys.lookup(Buffer.from(id))).toBe(i));
    for (const other of ['pw-3000', 'pw-', 'wasser-strasse-1', 'pw-1 ', 'PW-1', '电']) expect(keys.lookup(Buffer.from(other)), other).toBe(-1);
    // Latin-1 bytes of "ö" are not its UTF-8 bytes: no match.
    expect(keys.lookup(Buffer.from('ö', 'latin1'))).toBe(-1);
  });
});
