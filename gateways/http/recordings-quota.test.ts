import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity, parseCity } from '../../engine/index.ts';
import { loadRecording } from '../../scenarios/index.ts';
import { startServerWith, type ServerInternals } from '../server.ts';

const ADMIN = 'admin-token-quota';

describe('recordings on disk: quota, one city per content hash, listing from metas', () => {
  let server: ServerInternals;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratum-quota-'));
    const city = parseCity(generateCity({ assets: 200, seed: 2 }), 'generated');
    server = await startServerWith({ city, seed: 2, port: 0, quiet: true, speed: 60, adminToken: ADMIN }, { env: { STRATUM_RECORDINGS: dir, STRATUM_RECORDINGS_MAX: '2' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  const record = (): Promise<Response> => fetch(`${server.url}/api/recordings`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: '{}' });

  it('stores the city once, lists without reading journals, and refuses past STRATUM_RECORDINGS_MAX writing nothing', async () => {
    expect((await record()).status).toBe(201);
    expect((await record()).status).toBe(201);
    const cities = readdirSync(join(dir, 'cities'));
    expect(cities).toEqual([`${server.engine.cityHash}.json`]);
    const listed = await fetch(`${server.url}/api/recordings`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const { recordings } = (await listed.json()) as { recordings: { id: string }[] };
    expect(recordings).toHaveLength(2);
    for (const r of recordings) {
      expect(existsSync(join(dir, r.id, 'city.json'))).toBe(false);
      expect(loadRecording(r.id, dir).meta.city).toEqual({ file: join(dir, 'cities', cities[0]!) });
    }
    const refused = await record();
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { message: string }).message).toMatch(/quota reached: 2 of 2 recordings \(STRATUM_RECORDINGS_MAX\)/);
    expect(readdirSync(dir).filter((n) => n !== 'cities')).toHaveLength(2);
  });
});
