import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateCity } from '../../engine/index.ts';
import { main } from './cli.ts';
import { brokersFrom } from './worker-cli.ts';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'stratum', ...args], { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

describe('bad settings of the Kafka workers and of HOST exit 2 with a message naming them', () => {
  let dir: string;
  let city: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stratum-worker-cli-'));
    city = join(dir, 'city.json');
    writeFileSync(city, JSON.stringify(generateCity({ assets: 100, seed: 1 })));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => vi.unstubAllEnvs());

  it('`stratum worker` without --brokers or STRATUM_KAFKA_BROKERS', async () => {
    vi.stubEnv('STRATUM_KAFKA_BROKERS', '');
    const r = await run('worker');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--brokers .*STRATUM_KAFKA_BROKERS/);
  });

  it('a broker that is not host:port, a bad topic or group, a session timeout out of range', async () => {
    expect(() => brokersFrom('127.0.0.1:59092,nohost')).toThrow(/"nohost" is not host:port/);
    expect(brokersFrom(' a:1 , b:2 ')).toEqual(['a:1', 'b:2']);
    for (const [args, flag] of [
      [['worker', '--study-topic', 'bad topic'], '--study-topic'],
      [['worker', '--group', 'a/b'], '--group'],
      [['worker', '--session-timeout', '2'], '--session-timeout'],
    ] as const) {
      const r = await run(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toContain(flag);
    }
    vi.stubEnv('STRATUM_STUDY_TOPIC', 'no spaces please');
    vi.stubEnv('STRATUM_KAFKA_BROKERS', '127.0.0.1:1');
    const r = await run('worker');
    expect(r.code).toBe(2);
    expect(r.err).toContain('STRATUM_STUDY_TOPIC');
  });

  it('`cascade --workers` takes a thread count or kafka, and kafka needs brokers', async () => {
    const bad = await run('cascade', '--city', city, '--model', 'stochastic', '--trigger', 'ids:x', '--workers', 'cluster');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--workers');
    const lone = await run('cascade', '--city', city, '--model', 'motter-lai', '--brokers', '127.0.0.1:1');
    expect(lone.code).toBe(2);
    expect(lone.err).toContain('--brokers goes with --workers kafka');
    vi.stubEnv('STRATUM_KAFKA_BROKERS', '');
    const none = await run('cascade', '--city', city, '--model', 'motter-lai', '--workers', 'kafka');
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/Kafka brokers are needed/);
  });

  it('`start` with a HOST that is not one address', async () => {
    vi.stubEnv('HOST', '0.0.0.0 127.0.0.1');
    const r = await run('start', '--assets', '100', '--no-ui', '--port', '0');
    expect(r.code).toBe(2);
    expect(r.err).toContain('HOST must be one interface address or name');
  });
});
