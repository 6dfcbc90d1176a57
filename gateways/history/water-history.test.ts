import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { epanetCityDocument, ManualWallClock, parseCity, type CityModel } from '../../engine/index.ts';
import { engineFor } from '../../test/fixtures.ts';
import { startServerWith } from '../server.ts';
import { WaterReadingHistory, type ReadingBucket } from './water-history.ts';

const NET1 = 'engine/water/networks/Net1.inp';
const HOUR = 3_600_000;

function net1City(): CityModel {
  const document = epanetCityDocument(readFileSync(NET1, 'utf8'), NET1);
  return parseCity({ ...document, assets: [...document.assets, { id: 'plant', layer: 'power', kind: 'generator' }], dependencies: [{ from: 'plant', to: 'pump:9', kind: 'power' }] }, NET1);
}

describe('history of hydraulic readings', () => {
  it('keeps each snapshot’s junction pressure, tank level and pump flow that moved, and buckets them in virtual time', async () => {
    const engine = await engineFor(net1City());
    const readings = new WaterReadingHistory(engine);
    expect(readings.hydraulic).toBe(true);
    engine.submit({ type: 'fail', target: 'plant' }, { at: 2 * 3600 });
    for (let t = 0; t <= 4 * HOUR; t += 900_000) {
      await engine.runUntil(t);
      readings.record();
    }
    const pump = engine.index.indexOf('pump:9')!;
    const tank = engine.index.indexOf('2')!;
    const flow = readings.buckets(pump, 'flowM3s', 0, 4 * HOUR, HOUR);
    expect(flow.map((b) => b.last > 0)).toEqual([true, true, false, false]); // running, then stopped by the power loss at 2 h
    const level = readings.buckets(tank, 'tankLevelM', 0, 4 * HOUR, HOUR);
    expect(level[1]!.max).toBeGreaterThan(level[0]!.min); // filling while pumped
    expect(level[3]!.last).toBeLessThan(level[2]!.max); // draining without the pump
    const pressure = readings.buckets(engine.index.indexOf('32')!, 'pressureM', 0, 4 * HOUR, HOUR);
    expect(pressure).toHaveLength(4);
    for (const b of pressure) expect(b.min).toBeLessThanOrEqual(b.max);
    expect(readings.kindsOf(engine.index.indexOf('plant')!)).toEqual([]);
    await engine.stop();
  });

  it('GET /api/assets/:id/readings serves a tank’s level trend from the served twin, and names a bad parameter', async () => {
    // The live run's wall clock moves only when the test says so: 2.5 wall seconds at 3,600× are
    // exactly 2.5 virtual hours however busy the machine is.
    const wall = new ManualWallClock();
    const server = await startServerWith({ city: net1City(), seed: 7, port: 0, quiet: true, adminToken: 'admin-token-water-history-test-012345', speed: 3600 }, { rateLimitPerMinute: 1e6, runnerClock: wall });
    const get = (path: string): Promise<Response> => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    try {
      await wall.advance(2500, () => server.runner.whenSettled());
      const response = await get('/api/assets/2/readings?from=0&step=30m');
      expect(response.status).toBe(200);
      const body = (await response.json()) as { time: string; stepMs: number; readings: { tankLevelM?: ReadingBucket[]; pressureM?: ReadingBucket[] } };
      expect(body.time).toBe('virtual-ms');
      expect(body.stepMs).toBe(1_800_000);
      expect(body.readings.tankLevelM!.length).toBeGreaterThanOrEqual(3);
      expect(body.readings.pressureM).toBeUndefined();
      const junction = (await (await get('/api/assets/32/readings?from=0')).json()) as { readings: { pressureM?: ReadingBucket[] } };
      expect(junction.readings.pressureM![0]!.last).toBeGreaterThan(50);
      const now = (await (await get('/api/water')).json()) as { hydraulic: boolean; requiredPressureM: number; junctions: { ids: string[]; pressureM: number[] }; tanks: { tank: string; asset: string; levelM: number }[]; pumps: { id: string; running: boolean }[] };
      expect(now.hydraulic).toBe(true);
      expect(now.requiredPressureM).toBe(20);
      expect(now.junctions.ids).toHaveLength(9);
      expect(Math.min(...now.junctions.pressureM)).toBeGreaterThan(20);
      expect(now.tanks).toEqual([expect.objectContaining({ tank: '2', asset: '2' })]);
      expect(now.pumps).toEqual([expect.objectContaining({ id: 'pump:9', running: true })]);
      const bad = await get('/api/assets/2/readings?step=soon');
      expect(bad.status).toBe(400);
      expect(await bad.text()).toContain('querystring.step');
      expect((await get('/api/assets/nope/readings')).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
