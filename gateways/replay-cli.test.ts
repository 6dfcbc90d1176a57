import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { Ledger, loadRecording } from '../scenarios/index.ts';
import { PgRecordings } from './adapters/index.ts';
import { requireUrl, serviceFromEnv } from './adapters/testing.ts';
import { registerScenarioCommands } from './replay-cli.ts';

async function run(args: string[]): Promise<{ out: string; error: Error | undefined }> {
  let out = '';
  const program = new Command().exitOverride();
  registerScenarioCommands(program, { out: (s) => void (out += s), err: (s) => void (out += s) });
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out, error: undefined };
  } catch (error) {
    return { out, error: error as Error };
  }
}

describe('scenario CLI', () => {
  it('records, lists and replays a run to the identical hash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-cli-'));
    const rec = await run(['record', 'run', '--scenario', 'substation-fire', '--until', '3600', '--dir', dir, '--id', 'fire', '--json']);
    expect(rec.error).toBeUndefined();
    expect((await run(['record', 'list', '--dir', dir])).out).toContain('fire');
    const replay = await run(['replay', 'fire', '--dir', dir, '--json']);
    expect(JSON.parse(replay.out)).toMatchObject({ recording: 'fire', identical: true });
    expect((await run(['replay', 'fire', '--dir', dir, '--speed', '5000'])).error?.message).toMatch(/--speed/);
  });

  it('ledger verify names the first broken entry', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'stratum-ledger-')), 'ledger.ndjson');
    const ledger = new Ledger(file);
    for (let i = 0; i < 4; i++) ledger.append('injection', 'alice', 'injector', { i });
    expect((await run(['ledger', 'verify', file])).out).toContain('ok, 4 entries');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    lines[2] = lines[2]!.replace('"i":2', '"i":7');
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect((await run(['ledger', 'verify', file])).error?.message).toMatch(/broken at entry 2/);
  });
});

const postgres = serviceFromEnv('pg');

describe.skipIf(postgres.skip)(`replay and train from PostgreSQL (${postgres.reason})`, () => {
  // A schema of its own: test files share the database.
  const schema = `cli_test_${randomBytes(4).toString('hex')}`;
  afterAll(async () => {
    if (postgres.url === undefined) return;
    const client = new pg.Client(postgres.url);
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });
  /** Runs the CLI with the recordings schema of this test (the CLI reads STRATUM_RECORDINGS_SCHEMA). */
  const runWithSchema = async (args: string[]) => {
    process.env['STRATUM_RECORDINGS_SCHEMA'] = schema;
    try {
      return await run(args);
    } finally {
      delete process.env['STRATUM_RECORDINGS_SCHEMA'];
    }
  };

  it('replay --pg reaches the same final stateHash as the file; train --pg scores as from the file; a missing recording names itself and the store', async () => {
    const url = requireUrl(postgres);
    const dir = mkdtempSync(join(tmpdir(), 'stratum-cli-pg-'));
    expect((await run(['record', 'run', '--scenario', 'substation-fire', '--until', '3600', '--snapshot-every', '1200', '--dir', dir, '--id', 'fire-pg', '--json'])).error).toBeUndefined();
    const store = await PgRecordings.open({ url, schema });
    try {
      await store.save(loadRecording('fire-pg', dir));
    } finally {
      await store.close();
    }

    const fromFile = JSON.parse((await run(['replay', 'fire-pg', '--dir', dir, '--json'])).out) as { stateHash: string; identical: boolean };
    const fromPg = await runWithSchema(['replay', 'fire-pg', '--pg-url', url, '--json']);
    expect(fromPg.error).toBeUndefined();
    expect(JSON.parse(fromPg.out)).toMatchObject({ recording: 'fire-pg', identical: true, stateHash: fromFile.stateHash });
    // --pg alone takes the url from STRATUM_PG_URL.
    const saved = process.env['STRATUM_PG_URL'];
    process.env['STRATUM_PG_URL'] = url;
    try {
      expect(JSON.parse((await runWithSchema(['replay', 'fire-pg', '--pg', '--seek', '1200', '--json'])).out)).toMatchObject({ untilMs: 1_200_000, identical: true });
    } finally {
      if (saved === undefined) delete process.env['STRATUM_PG_URL'];
      else process.env['STRATUM_PG_URL'] = saved;
    }

    const trainFile = JSON.parse((await run(['train', 'fire-pg', '--dir', dir, '--handover', '600', '--json'])).out) as { score: number };
    const trainPg = await runWithSchema(['train', 'fire-pg', '--pg-url', url, '--handover', '600', '--json']);
    expect(trainPg.error).toBeUndefined();
    expect((JSON.parse(trainPg.out) as { score: number }).score).toBe(trainFile.score);

    const missing = await runWithSchema(['replay', 'no-such-recording', '--pg-url', url]);
    expect(missing.error?.message).toContain('"no-such-recording"');
    expect(missing.error?.message).toContain(`PostgreSQL (${schema}.recordings)`);
    expect((await runWithSchema(['train', 'no-such-recording', '--pg-url', url, '--handover', '0'])).error?.message).toContain('"no-such-recording"');
    expect((await run(['replay', 'fire-pg', '--pg', '--pg-url', url, '--dir', dir])).error?.message).toMatch(/--dir and --pg are exclusive/);
  });

  it('reading from a schema without the tables finds nothing and creates nothing', async () => {
    const url = requireUrl(postgres);
    const absent = `${schema}_absent`;
    process.env['STRATUM_RECORDINGS_SCHEMA'] = absent;
    try {
      expect((await run(['record', 'list', '--pg', url])).out).toBe('no recordings\n');
      expect((await run(['replay', 'fire-pg', '--pg-url', url])).error?.message).toContain(`"fire-pg" in PostgreSQL (${absent}.recordings)`);
    } finally {
      delete process.env['STRATUM_RECORDINGS_SCHEMA'];
    }
    const client = new pg.Client(url);
    await client.connect();
    try {
      expect((await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [absent])).rowCount).toBe(0);
    } finally {
      await client.end();
    }
  });
});

describe('replay --pg without a url', () => {
  it('is a usage error naming the flag and the variable', async () => {
    const saved = process.env['STRATUM_PG_URL'];
    delete process.env['STRATUM_PG_URL'];
    try {
      expect((await run(['replay', 'fire', '--pg'])).error?.message).toMatch(/--pg needs a PostgreSQL url: --pg-url URL or STRATUM_PG_URL/);
    } finally {
      if (saved !== undefined) process.env['STRATUM_PG_URL'] = saved;
    }
  });
});
