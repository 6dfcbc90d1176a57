import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createBehaviours } from '../../actors/index.ts';
import { generateCity, parseCity } from '../../engine/index.ts';
import { loadLibraryScenario, loadRecording, recordRun, ReplaySession } from '../../scenarios/index.ts';
import { registerScenarioCommands } from '../cli/index.ts';
import { startServerWith } from '../server.ts';
import { PgRecordings } from './recordings-pg.ts';
import { requireUrl, serviceFromEnv, waitFor } from './testing.ts';

const postgres = serviceFromEnv('pg');
const behaviours = (i: Parameters<typeof createBehaviours>[0]) => createBehaviours(i);
// A schema of its own: test files share the database.
const schema = `rec_test_${randomBytes(4).toString('hex')}`;

/** Runs the `stratum` recording commands in-process on `recordingsSchema` (the CLI reads STRATUM_RECORDINGS_SCHEMA). */
async function cli(args: string[], recordingsSchema = schema): Promise<{ out: string; error: Error | undefined }> {
  let out = '';
  const program = new Command().exitOverride();
  registerScenarioCommands(program, { out: (s) => void (out += s), err: (s) => void (out += s) });
  process.env['STRATUM_RECORDINGS_SCHEMA'] = recordingsSchema;
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out, error: undefined };
  } catch (error) {
    return { out, error: error as Error };
  } finally {
    delete process.env['STRATUM_RECORDINGS_SCHEMA'];
  }
}

describe.skipIf(postgres.skip)(`recordings in PostgreSQL (${postgres.reason})`, () => {
  afterAll(async () => {
    if (postgres.url === undefined) return;
    const client = new pg.Client(postgres.url);
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  it('stores a recording in one piece and replays it from the database to the identical hash', async () => {
    const store = await PgRecordings.open({ url: requireUrl(postgres), schema });
    try {
      const rec = await recordRun({ city: { generate: { assets: 300, seed: 4 } }, seed: 2, behaviours, scenario: loadLibraryScenario('substation-fire'), untilSeconds: 3600, dir: mkdtempSync(join(tmpdir(), 'stratum-pgrec-')), id: 'fire', snapshotEverySeconds: 1200 });
      await store.save(rec);
      await store.save(rec); // replaces, never duplicates
      expect((await store.list()).map((m) => m.id)).toEqual(['fire']);
      const loaded = await store.load('fire');
      expect(loaded?.city).toBeUndefined(); // a generated city is rebuilt from its parameters
      expect(loaded!.recording.meta).toEqual(rec.meta);
      expect(loaded!.recording.entries).toEqual(rec.entries);
      const replay = await ReplaySession.open(loaded!.recording, behaviours);
      expect((await replay.runToEnd()).identical).toBe(true);
      await replay.close();
      expect(await store.load('nothing')).toBeUndefined();
      expect(await store.delete('fire')).toBe(true);
      expect(await store.list()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('the live server stores POST /api/recordings in the database; sessions and `stratum record list --pg` read it from there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-pgrec-live-'));
    const admin = 'admin-token-123';
    const server = await startServerWith(
      { city: parseCity(generateCity({ assets: 300, seed: 6 }), 'gen'), seed: 1, port: 0, quiet: true, adminToken: admin },
      { paused: true, env: { STRATUM_ADAPTERS: '1', STRATUM_PG_URL: requireUrl(postgres), STRATUM_RECORDINGS_SCHEMA: schema, STRATUM_RUN_ID: `pgrec-${schema}`, STRATUM_RECORDINGS: dir } },
    );
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> & { session?: { id: string } } };
    };
    try {
      expect((await call('POST', '/api/inject', { type: 'fail', target: 'pw-tx-0' })).status).toBe(202);
      await call('POST', '/api/clock', { action: 'speed', speed: 1000 });
      await call('POST', '/api/clock', { action: 'resume' });
      await waitFor('the live clock to pass 20 s', () => server.engine.kernel.settledUntil > 20_000);
      await call('POST', '/api/clock', { action: 'pause' });
      const saved = await call('POST', '/api/recordings', { title: 'to the database' });
      expect(saved.status).toBe(201);
      const id = saved.json['id'] as string;
      // A recording only in the folder, to list beside the database's.
      await recordRun({ city: { generate: { assets: 300, seed: 4 } }, seed: 2, behaviours, scenario: loadLibraryScenario('substation-fire'), untilSeconds: 600, dir, id: 'file-only' });
      const listed = async () => ((await call('GET', '/api/recordings')).json['recordings'] as { id: string; store: string }[]).map((r) => [r.id, r.store]);
      expect(await listed()).toEqual(expect.arrayContaining([[id, 'both'], ['file-only', 'file']]));

      // The files go away: the session must come from PostgreSQL, city included.
      rmSync(join(dir, id), { recursive: true });
      const after = await listed();
      expect(after).toEqual(expect.arrayContaining([[id, 'postgres'], ['file-only', 'file']]));
      expect(after.filter(([r]) => r === id)).toHaveLength(1);
      const created = await call('POST', '/api/sessions', { recording: id, kind: 'replay', paused: true });
      expect(created.status, JSON.stringify(created.json)).toBe(201);
      const session = created.json.session!.id;
      expect((await call('POST', `/api/sessions/${session}/clock`, { action: 'seek', toMs: saved.json['untilMs'] })).status).toBe(200);
      const detail = await call('GET', `/api/sessions/${session}`);
      expect((detail.json['summary'] as { stateHash: string }).stateHash).toBe(saved.json['stateHash']);

      const list = await cli(['record', 'list', '--pg', requireUrl(postgres), '--json']);
      expect((JSON.parse(list.out) as { id: string; title: string }[]).find((m) => m.id === id)).toMatchObject({ title: 'to the database' });

      // `stratum replay --pg` and `train --pg` of the live recording: its city comes from the database too.
      const replay = await cli(['replay', id, '--pg-url', requireUrl(postgres), '--json']);
      expect(replay.error).toBeUndefined();
      expect(JSON.parse(replay.out)).toMatchObject({ recording: id, identical: true, stateHash: saved.json['stateHash'] });
      const train = await cli(['train', id, '--pg-url', requireUrl(postgres), '--handover', '0', '--json']);
      expect(train.error).toBeUndefined();
      expect(JSON.parse(train.out)).toMatchObject({ score: expect.any(Number) });
    } finally {
      await server.close();
    }
  });

  it('stratum replay --pg reaches the file\'s final stateHash, train --pg its score; a missing recording names itself and the store', async () => {
    const url = requireUrl(postgres);
    const dir = mkdtempSync(join(tmpdir(), 'stratum-cli-pg-'));
    expect((await cli(['record', 'run', '--scenario', 'substation-fire', '--until', '3600', '--snapshot-every', '1200', '--dir', dir, '--id', 'fire-pg', '--json'])).error).toBeUndefined();
    const store = await PgRecordings.open({ url, schema });
    try {
      await store.save(loadRecording('fire-pg', dir));
    } finally {
      await store.close();
    }

    const fromFile = JSON.parse((await cli(['replay', 'fire-pg', '--dir', dir, '--json'])).out) as { stateHash: string };
    const fromPg = await cli(['replay', 'fire-pg', '--pg-url', url, '--json']);
    expect(fromPg.error).toBeUndefined();
    expect(JSON.parse(fromPg.out)).toMatchObject({ recording: 'fire-pg', identical: true, stateHash: fromFile.stateHash });
    // --pg alone takes the url from STRATUM_PG_URL; the checkpoints come back from the database too.
    const saved = process.env['STRATUM_PG_URL'];
    process.env['STRATUM_PG_URL'] = url;
    try {
      expect(JSON.parse((await cli(['replay', 'fire-pg', '--pg', '--seek', '1200', '--json'])).out)).toMatchObject({ untilMs: 1_200_000, identical: true });
    } finally {
      if (saved === undefined) delete process.env['STRATUM_PG_URL'];
      else process.env['STRATUM_PG_URL'] = saved;
    }

    const trainFile = JSON.parse((await cli(['train', 'fire-pg', '--dir', dir, '--handover', '600', '--json'])).out) as { score: number };
    const trainPg = await cli(['train', 'fire-pg', '--pg-url', url, '--handover', '600', '--json']);
    expect(trainPg.error).toBeUndefined();
    expect((JSON.parse(trainPg.out) as { score: number }).score).toBe(trainFile.score);

    const missing = await cli(['replay', 'no-such-recording', '--pg-url', url]);
    expect(missing.error?.message).toBe(`no recording "no-such-recording" in PostgreSQL (${schema}.recordings): see \`stratum record list --pg\``);
    expect((await cli(['train', 'no-such-recording', '--pg-url', url, '--handover', '0'])).error?.message).toContain('"no-such-recording"');
    expect((await cli(['replay', 'fire-pg', '--pg', '--pg-url', url, '--dir', dir])).error?.message).toMatch(/--dir and --pg are exclusive/);
  });

  it('the CLI reading from a schema without the tables finds nothing and creates nothing', async () => {
    const url = requireUrl(postgres);
    const absent = `${schema}_absent`;
    expect((await cli(['record', 'list', '--pg', url], absent)).out).toBe('no recordings\n');
    expect((await cli(['replay', 'fire-pg', '--pg-url', url], absent)).error?.message).toContain(`"fire-pg" in PostgreSQL (${absent}.recordings)`);
    const client = new pg.Client(url);
    await client.connect();
    try {
      expect((await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [absent])).rowCount).toBe(0);
    } finally {
      await client.end();
    }
  });
});
