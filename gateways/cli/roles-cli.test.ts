import { describe, expect, it } from 'vitest';
import { runCli } from '../../test/cli-run.ts';

const run = runCli;

const NO_SERVICES = { STRATUM_REDIS_URL: undefined, STRATUM_ENGINE_URL: undefined, STRATUM_ROLE: undefined };

describe('stratum start --role: bad settings get one line naming them, before anything starts', () => {
  it('an unknown --role exits 2 naming the choices', async () => {
    const { code, err } = await run(['start', '--no-ui', '--port', '0', '--role', 'router'], NO_SERVICES);
    expect(code).toBe(2);
    expect(err).toContain("option '--role <role>' argument 'router' is invalid. Allowed choices are all, engine, gateway.");
  });

  it('an unknown STRATUM_ROLE exits 2 naming it', async () => {
    const { code, err } = await run(['start', '--no-ui', '--port', '0'], { ...NO_SERVICES, STRATUM_ROLE: 'edge' });
    expect(code).toBe(2);
    expect(err.split('\n')[0]).toBe('stratum: STRATUM_ROLE must be one of all, engine, gateway (got "edge")');
  });

  it('the engine and gateway roles without Redis exit 2 naming STRATUM_REDIS_URL and --redis-url', async () => {
    for (const role of ['engine', 'gateway']) {
      const { code, err } = await run(['start', '--no-ui', '--port', '0', '--role', role, ...(role === 'gateway' ? ['--engine-url', 'http://127.0.0.1:1'] : [])], NO_SERVICES);
      expect(code, role).toBe(2);
      expect(err.split('\n')[0]).toBe('stratum: the engine and gateway roles need Redis: set STRATUM_REDIS_URL or --redis-url');
    }
  });

  it('a gateway without the engine URL, or with one that is not http(s), exits 2 naming --engine-url', async () => {
    let r = await run(['start', '--no-ui', '--port', '0', '--role', 'gateway', '--redis-url', 'redis://127.0.0.1:1'], NO_SERVICES);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe("stratum: --role gateway needs the engine's URL: --engine-url URL or STRATUM_ENGINE_URL");
    r = await run(['start', '--no-ui', '--port', '0', '--role', 'gateway', '--redis-url', 'redis://127.0.0.1:1', '--engine-url', 'ftp://engine'], NO_SERVICES);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('stratum: --engine-url must be an http(s) URL (got "ftp://engine")');
  });

  it('a bad STRATUM_FANOUT_MAXLEN exits 2 naming it', async () => {
    const { code, err } = await run(['start', '--no-ui', '--port', '0', '--role', 'engine', '--redis-url', 'redis://127.0.0.1:1'], { ...NO_SERVICES, STRATUM_FANOUT_MAXLEN: '5' });
    expect(code).toBe(2);
    expect(err.split('\n')[0]).toBe('stratum: STRATUM_FANOUT_MAXLEN must be an integer ≥ 16 (got "5")');
  });

  it('a gateway that cannot reach Redis exits 1 with one line naming the URL', async () => {
    const { code, err } = await run(['start', '--no-ui', '--port', '0', '--role', 'gateway', '--redis-url', 'redis://127.0.0.1:1', '--engine-url', 'http://127.0.0.1:1'], { ...NO_SERVICES, STRATUM_ADMIN_TOKEN: 'some-admin-token' });
    expect(code).toBe(1);
    expect(err.split('\n')[0]).toMatch(/^stratum: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 within 5 s/);
  }, 20_000);

  it('a gateway without the engine\'s tokens exits 1 saying which settings carry them', async () => {
    const { code, err } = await run(['start', '--no-ui', '--port', '0', '--role', 'gateway', '--redis-url', 'redis://127.0.0.1:1', '--engine-url', 'http://127.0.0.1:1'], { ...NO_SERVICES, STRATUM_ADMIN_TOKEN: undefined, STRATUM_TOKENS: undefined, STRATUM_TOKENS_FILE: undefined });
    expect(code).toBe(1);
    expect(err.split('\n')[0]).toBe("stratum: a gateway needs the engine's tokens: set STRATUM_ADMIN_TOKEN, STRATUM_TOKENS or STRATUM_TOKENS_FILE as for the engine");
  });

  it('flags of the other half are refused, naming them', async () => {
    let r = await run(['start', '--no-ui', '--port', '0', '--role', 'gateway', '--assets', '500'], NO_SERVICES);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('stratum: --assets belongs to the engine (role all or engine), not to --role gateway');
    r = await run(['start', '--no-ui', '--port', '0', '--role', 'engine', '--engine-url', 'http://127.0.0.1:1'], NO_SERVICES);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('stratum: --engine-url belongs to --role gateway (this is role engine)');
  });
});
