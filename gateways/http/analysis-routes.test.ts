import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity, parseCity } from '../../engine/index.ts';
import { startServer } from '../server.ts';

describe('analysis routes over the live engine', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  const get = async (path: string, token = server.adminToken) => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    server = await startServer({ city: parseCity(generateCity({ assets: 800, seed: 2 }), 'gen'), seed: 1, port: 0, speed: 1, quiet: true, adminToken: 'admin-analysis-test' });
  });
  afterAll(async () => server.close());

  it('explains a dependency failure back to the injected input', async () => {
    // A hard, certain, immediate dependency (pumping stations now ride through some grid losses on standby power).
    const pump = server.engine.index.city.dependencies.find((d) => d.strength === 1 && d.probability === 1 && d.latencySeconds === 0)!;
    // Wait for the event (the dependent asset leaving service in the engine's stream), not for time.
    const dependent = server.engine.index.indexOf(pump.to)!;
    const leftService = new Promise<void>((resolve) => {
      const off = server.engine.stream.subscribe((c) => {
        if (c.actor !== dependent || c.after.status === c.before.status || c.after.status === 0) return;
        off();
        resolve();
      });
    });
    const inject = await fetch(`${server.url}/api/inject`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'fail', target: pump.from }),
    });
    expect(inject.status).toBe(202);
    await leftService;
    const chain = ((await (await get(`/api/explain/${pump.to}`)).json()) as { chain: Array<{ id: string; cause: string; via: string }> }).chain;
    expect(chain[0]).toMatchObject({ id: pump.from, cause: 'damage', via: 'input' });
    expect(chain[chain.length - 1]).toMatchObject({ id: pump.to, cause: 'dependency', via: pump.from });
  });

  it('answers 404 for an unknown asset and 401 without a token', async () => {
    expect((await get('/api/explain/nope')).status).toBe(404);
    expect((await fetch(`${server.url}/api/explain/pw-tx-0`)).status).toBe(401);
  });

  it('ranks assets by simulated impact', async () => {
    const body = (await (await get('/api/criticality?top=5')).json()) as { assets: Array<{ id: string; impact: number }> };
    expect(body.assets).toHaveLength(5);
    expect(body.assets[0]!.impact).toBeGreaterThanOrEqual(body.assets[4]!.impact);
  });
});
