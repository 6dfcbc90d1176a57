import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../scenarios/index.ts';
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

describe('ledger repair', () => {
  it('cuts a torn final line, notes the repair, and then verifies; a tampered chain is refused unchanged', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'stratum-ledger-')), 'ledger.ndjson');
    const ledger = new Ledger(file);
    for (let i = 0; i < 3; i++) ledger.append('injection', 'alice', 'injector', { i });
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"seq":3,"at":"2026-12`);
    expect((await run(['ledger', 'verify', file])).error?.message).toMatch(/broken at entry 3/);
    const repaired = await run(['ledger', 'repair', file, '--json']);
    expect(repaired.error).toBeUndefined();
    expect(JSON.parse(repaired.out)).toMatchObject({ repaired: { line: 4 }, count: 4 });
    expect((await run(['ledger', 'verify', file])).out).toContain('ok, 4 entries');
    expect(readFileSync(file, 'utf8')).toContain('"kind":"repair"');
    expect((await run(['ledger', 'repair', file])).out).toContain('nothing to repair');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    lines[1] = lines[1]!.replace('"i":1', '"i":9');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const before = readFileSync(file, 'utf8');
    expect((await run(['ledger', 'repair', file])).error?.message).toMatch(/entry 1 .*nothing was changed/);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });
});

// replay/train --pg against the database: adapters/recordings-pg.test.ts.
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
