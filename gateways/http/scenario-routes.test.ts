import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity, parseCity } from '../../engine/index.ts';
import { listRecordings, verifyLedgerFile } from '../../scenarios/index.ts';
import { startServerWith, type ServerInternals } from '../server.ts';

const dir = mkdtempSync(join(tmpdir(), 'stratum-routes-'));
const ledgerFile = join(dir, 'ledger.ndjson');
let server: ServerInternals;
const tokens = { admin: 'admin-token-123', op: 'operator-token-1', inj: 'injector-token-1', view: 'viewer-token-12' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON replies, checked by the assertions
type Json = any;

async function call(method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

beforeAll(async () => {
  server = await startServerWith(
    { city: parseCity(generateCity({ assets: 2000, seed: 2 }), 'gen'), seed: 1, port: 0, quiet: true, adminToken: tokens.admin },
    { paused: true, env: { STRATUM_TOKENS: `op:operator:${tokens.op},inj:injector:${tokens.inj},view:viewer:${tokens.view}`, STRATUM_LEDGER_FILE: ledgerFile, STRATUM_RECORDINGS: dir } },
  );
});
afterAll(async () => {
  await server?.close();
});

describe('scenario routes (real server)', () => {
  it('lists the library; runs by name and by body for injectors only', async () => {
    const list = await call('GET', '/api/scenarios', tokens.view);
    expect(list.status).toBe(200);
    expect(list.json.scenarios.length).toBeGreaterThanOrEqual(8);
    expect(list.json.scenarios[0]).toMatchObject({ name: expect.any(String), description: expect.any(String), kind: expect.any(String) });
    expect((await call('POST', '/api/scenarios/river-flood/run', undefined, {})).status).toBe(401);
    expect((await call('POST', '/api/scenarios/river-flood/run', tokens.view, {})).status).toBe(403);
    const run = await call('POST', '/api/scenarios/river-flood/run', tokens.inj, {});
    expect(run.status).toBe(202);
    expect(run.json).toMatchObject({ ok: true, scenario: 'river-flood' });
    expect(run.json.inputs).toBeGreaterThan(10);
    const missing = await call('POST', '/api/scenarios/atlantis/run', tokens.inj, {});
    expect(missing.status).toBe(404);
    expect(missing.json.message).toContain('river-flood');
    const body = await call('POST', '/api/scenarios/run', tokens.admin, { name: 'drill', events: [{ at: 5, type: 'fail', target: { kind: 'transmission-substation' }, hazard: 'fire' }] });
    expect(body.status).toBe(202);
    expect(body.json.inputs).toBe(1);
  });

  it('rejects a bad document whole, naming the path', async () => {
    const before = server.engine.journal.length;
    const bad = await call('POST', '/api/scenarios/run', tokens.inj, { name: 'bad', events: [{ at: 1, type: 'fail', target: 'pw-tx-0' }, { at: 2, type: 'flood', depth: -1 }] });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ ok: false, code: 'invalid' });
    expect(bad.json.problems.map((p: { path: string }) => p.path)).toContain('$.events[1].depth');
    const unknown = await call('POST', '/api/scenarios/run', tokens.inj, { name: 'bad', events: [{ at: 1, type: 'fail', target: 'pw-tx-0' }, { at: 2, type: 'fail', target: 'nope' }] });
    expect(unknown.status).toBe(400);
    expect(server.engine.journal.length).toBe(before);
  });

  it('guards actions behind a second role, keeps a verifiable ledger, what-if leaves the live engine alone, and records the session', async () => {
    expect((await call('POST', '/api/actions/guarded', tokens.op, { key: 'isolate', guarded: true })).status).toBe(403);
    expect((await call('POST', '/api/actions/guarded', tokens.admin, { key: 'isolate', guarded: true })).status).toBe(200);
    const direct = await call('POST', '/api/assets/pw-dx-1/isolate', tokens.op);
    expect(direct.status).toBe(409);
    expect(direct.json.message).toContain('guarded');
    const req = await call('POST', '/api/actions/request', tokens.op, { action: 'isolate', target: 'pw-dx-1', reason: 'fire nearby' });
    expect(req.status).toBe(202);
    const id = req.json.pending.id as number;
    expect((await call('POST', `/api/actions/${id}/approve`, tokens.op)).status).toBe(403);
    const ok = await call('POST', `/api/actions/${id}/approve`, tokens.admin);
    expect(ok.status).toBe(202);

    const inputs = server.engine.journal.length;
    const hash = server.engine.summary().stateHash;
    const wi = await call('POST', '/api/whatif', tokens.op, { command: { type: 'restore', target: 'pw-dx-1' }, horizonSeconds: 600 });
    expect(wi.status).toBe(200);
    expect(wi.json.delta).toMatchObject({ failed: expect.any(Number), cost: expect.any(Number) });
    expect(server.engine.journal.length).toBe(inputs);
    expect(server.engine.summary().stateHash).toBe(hash);

    const verify = await call('GET', '/api/ledger/verify', tokens.admin);
    expect(verify.json).toMatchObject({ ok: true });
    const file = verifyLedgerFile(ledgerFile);
    expect(file.ok).toBe(true);
    expect(file.entries.map((e) => e.kind)).toEqual(expect.arrayContaining(['scenario', 'guard', 'approval-request', 'approval', 'what-if']));

    expect((await call('POST', '/api/recordings', tokens.inj, {})).status).toBe(403);
    const saved = await call('POST', '/api/recordings', tokens.admin, { title: 'drill' });
    expect(saved.status).toBe(201);
    expect(listRecordings(dir).map((m) => m.id)).toContain(saved.json.id);
    expect((await call('GET', '/api/recordings', tokens.view)).json.recordings.length).toBe(1);
  });
});
