import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../engine/index.ts';
import { decodeValue, telemetryCommand } from './kafka.ts';

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
});
