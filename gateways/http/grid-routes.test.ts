import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dcPowerFlow, generateCity, matpowerToCity, networkFromCase, parseCity, redispatchAfterGeneratorOutage, syntheticGrid, type GridNetwork } from '../../engine/index.ts';
import type { ContingencyReply, GridReply } from './grid-routes.ts';
import { startServer } from '../server.ts';

const mpc = syntheticGrid({ buses: 100, seed: 3 });
const net = networkFromCase(mpc);

describe('live grid routes: DC flows and N-1 of the grid as it stands', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  const get = async (path: string, headers: Record<string, string> = {}): Promise<Response> => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${server.adminToken}`, ...headers } });

  beforeAll(async () => {
    server = await startServer({ city: parseCity(matpowerToCity(mpc), mpc.name), seed: 1, port: 0, speed: 1, quiet: true, adminToken: 'admin-grid-test', uiDir: false });
  });
  afterAll(async () => server.close());

  /** The live network of a /api/grid reply: in-service branches and generators, served loads, outputs. */
  const liveNetwork = (grid: GridReply): GridNetwork => ({
    ...net,
    pdMw: Float64Array.from(grid.buses, (b) => b.loadMw),
    gsMw: new Float64Array(net.busIds.length),
    pgMw: Float64Array.from(grid.generators, (g) => g.outputMw),
    branchInService: Uint8Array.from(grid.branches, (b) => (b.inService ? 1 : 0)),
    genInService: Uint8Array.from(grid.generators, (g) => (g.inService ? 1 : 0)),
    rateAMw: Float64Array.from(grid.branches, (b) => b.ratingMw ?? 0),
  });

  it('serves every branch its signed flow (a full re-solve agrees), rating and loading, with an ETag', async () => {
    let response = await get('/api/grid');
    let grid = (await response.json()) as GridReply;
    // The first instant (the solvers' start) may not have settled yet.
    for (let i = 0; i < 50 && !(grid.totalLoadMw > 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      response = await get('/api/grid');
      grid = (await response.json()) as GridReply;
    }
    expect(response.status).toBe(200);
    expect(grid.branches).toHaveLength(net.branchIds.length);
    const resolved = dcPowerFlow(liveNetwork(grid)).flowMw;
    grid.branches.forEach((b, k) => {
      expect(Math.abs(b.flowMw - resolved[k]!)).toBeLessThan(1e-6);
      expect(b.loadingPct).toBeCloseTo((Math.abs(b.flowMw) / b.ratingMw!) * 100, 9);
    });
    expect(grid.branches.some((b) => b.flowMw < 0) && grid.branches.some((b) => b.flowMw > 0)).toBe(true);
    expect(grid.totalGenerationMw).toBeCloseTo(grid.totalLoadMw, 6);
    // Unchanged grid, same tag: 304 (retried while the start-up instant may still be settling).
    let status = 0;
    for (let i = 0; i < 20 && status !== 304; i++) {
      const etag = (await get('/api/grid')).headers.get('etag')!;
      status = (await get('/api/grid', { 'if-none-match': etag })).status;
    }
    expect(status).toBe(304);
  });

  it('lists N-1 outages worst first, recomputed when an injection changes the grid, each row equal to a full re-solve', async () => {
    const intact = (await (await get('/api/grid/contingencies?limit=5')).json()) as ContingencyReply;
    // The synthetic grid's ratings make the intact grid N-1 secure.
    expect(intact.insecure).toBe(0);
    expect(intact.screened).toBe(net.branchIds.length + net.genIds.length);
    expect(intact.rows).toHaveLength(5);
    const inject = await fetch(`${server.url}/api/inject`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'telemetry', target: 'bus-30', value: mpc.buses[29]!.pdMw + 40 }),
    });
    expect(inject.status).toBeLessThan(300);
    let after = intact;
    for (let i = 0; i < 100 && (after.version === intact.version || after.stale); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = (await (await get('/api/grid/contingencies?limit=20')).json()) as ContingencyReply;
    }
    expect(after.version).toBeGreaterThan(intact.version);
    expect(after.insecure).toBeGreaterThan(0);
    for (let i = 1; i < after.rows.length; i++) {
      const [a, b] = [after.rows[i - 1]!, after.rows[i]!];
      if (a.overloads.length > 0 === b.overloads.length > 0) expect(a.maxLoadingPct).toBeGreaterThanOrEqual(b.maxLoadingPct);
    }
    // Check the insecure rows against a full DC re-solve of the live network without the outage.
    const grid = (await (await get('/api/grid')).json()) as GridReply;
    const live = liveNetwork(grid);
    const base = dcPowerFlow(live);
    for (const row of after.rows.filter((r) => r.overloads.length > 0)) {
      const branch = net.branchIds.indexOf(row.outage);
      const gen = net.genIds.indexOf(row.outage);
      const state = branch >= 0
        ? { branchOn: Uint8Array.from(live.branchInService, (on, k) => (k === branch ? 0 : on)) }
        : { genOn: Uint8Array.from(live.genInService, (on, g) => (g === gen ? 0 : on)), pgMw: redispatchAfterGeneratorOutage(live, base, gen) };
      const post = dcPowerFlow(live, undefined, state).flowMw;
      for (const o of row.overloads) {
        const k = net.branchIds.indexOf(o.id);
        expect(Math.abs(o.flowMw - post[k]!)).toBeLessThan(1e-6);
        expect(o.loadingPct).toBeCloseTo((Math.abs(post[k]!) / live.rateAMw[k]!) * 100, 6);
      }
    }
  });

  it('answers 400 naming a bad limit', async () => {
    const response = await get('/api/grid/contingencies?limit=0');
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/limit/);
  });
});

describe('live grid routes on a city without an electrical power layer', () => {
  it('answer 404 naming why', async () => {
    const server = await startServer({ city: parseCity(generateCity({ assets: 200, seed: 1 }), 'gen'), seed: 1, port: 0, speed: 1, quiet: true, adminToken: 'admin-grid-test-2', uiDir: false });
    try {
      for (const path of ['/api/grid', '/api/grid/contingencies']) {
        const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${server.adminToken}` } });
        expect(response.status).toBe(404);
        expect(await response.text()).toMatch(/no electrical power layer/);
      }
    } finally {
      await server.close();
    }
  });
});
