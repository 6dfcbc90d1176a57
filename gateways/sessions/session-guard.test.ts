import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBehaviours } from '../../actors/index.ts';
import { Engine, generateCity, parseCity, Status } from '../../engine/index.ts';
import { cityFromSource, saveRecording, verifyLedgerFile, whatIf } from '../../scenarios/index.ts';
import { jsonCall } from '../../test/http-client.ts';
import { startServerWith, type ServerInternals } from '../server.ts';


const CITY = { generate: { assets: 300, seed: 7 } } as const;
const TOKENS = { admin: 'guard-admin-123', trainer: 'guard-trainer-1', op: 'guard-operator-1', op2: 'guard-operator-2', view: 'guard-viewer-12' };
const ENV_TOKENS = `tr:trainer:${TOKENS.trainer},op:operator:${TOKENS.op},op2:operator:${TOKENS.op2},view:viewer:${TOKENS.view}`;
const behaviours = (i: Parameters<typeof createBehaviours>[0]) => createBehaviours(i);
const HANDOVER_MS = 600_000;

/** A small recorded incident: two substations burn, an operator acts after the handover. */
async function recordDrill(dir: string, id: string): Promise<void> {
  const live = await Engine.create({ city: cityFromSource(CITY), behaviours, seed: 3, driver: 'direct' });
  live.submit({ type: 'fail', target: 'pw-tx-0', hazard: 'fire' }, { at: 30, source: 'scenario:drill' });
  live.submit({ type: 'fail', target: 'pw-tx-1', hazard: 'fire' }, { at: 30, source: 'scenario:drill' });
  await live.runUntil(HANDOVER_MS);
  live.submit({ type: 'restore', target: 'pw-tx-1' }, { source: 'http:op' });
  await live.runUntil(2_400_000);
  saveRecording(live, { city: CITY, dir, id, title: 'guard drill' });
  await live.stop();
}

describe('the guard policy in training sessions and what-if', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stratum-session-guard-'));
  let server: ServerInternals;
  const call = jsonCall(() => server.url);

  beforeAll(async () => {
    await recordDrill(dir, 'drill');
    server = await startServerWith(
      { city: parseCity(generateCity({ assets: 300, seed: 7 }), 'gen'), seed: 1, port: 0, quiet: true, adminToken: TOKENS.admin },
      { paused: true, env: { STRATUM_TOKENS: ENV_TOKENS, STRATUM_RECORDINGS: dir, STRATUM_LEDGER_FILE: join(dir, 'ledger.ndjson') } },
    );
    expect((await call('POST', '/api/actions/guarded', TOKENS.admin, { key: 'isolate', guarded: true })).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('a guarded isolate is a 409 in training too; it runs on the session engine once another person with another role approves it', async () => {
    const created = await call('POST', '/api/sessions', TOKENS.trainer, { recording: 'drill', kind: 'training', paused: true, handoverMs: HANDOVER_MS });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const id = created.json.session.id as string;
    expect((await call('POST', `/api/sessions/${id}/clock`, TOKENS.trainer, { action: 'seek', toMs: HANDOVER_MS })).status).toBe(200);
    const inputs = async (): Promise<number> => (await call('GET', `/api/sessions/${id}`, TOKENS.view)).json.summary.inputs as number;
    const before = await inputs();
    const liveJournal = server.engine.journal.length;

    const direct = await call('POST', `/api/sessions/${id}/actions`, TOKENS.op, { action: 'isolate', target: 'pw-dx-1' });
    expect(direct.status).toBe(409);
    expect(direct.json.message).toContain(`POST /api/sessions/${id}/actions/request`);
    expect(await inputs()).toBe(before);
    // An action that is not guarded passes as before.
    const restore = await call('POST', `/api/sessions/${id}/actions`, TOKENS.op, { action: 'restore', target: 'pw-tx-0' });
    expect(restore.status, JSON.stringify(restore.json)).toBe(202);

    expect((await call('POST', `/api/sessions/${id}/actions/request`, TOKENS.view, { action: 'isolate', target: 'pw-dx-1' })).status).toBe(403);
    expect((await call('POST', `/api/sessions/${id}/actions/request`, TOKENS.op, { action: 'isolate', target: 'pw-nowhere' })).status).toBe(404);
    expect((await call('POST', `/api/sessions/${id}/actions/request`, TOKENS.op, { action: 'isolate', target: 'pw-dx-1', extra: 1 })).status).toBe(400);
    const requested = await call('POST', `/api/sessions/${id}/actions/request`, TOKENS.op, { action: 'isolate', target: 'pw-dx-1', reason: 'drill' });
    expect(requested.status, JSON.stringify(requested.json)).toBe(202);
    const pid = requested.json.pending.id as number;
    expect((await call('GET', `/api/sessions/${id}/actions/pending`, TOKENS.view)).json.pending).toEqual([expect.objectContaining({ id: pid, requestedBy: 'op' })]);
    // A session's pending action is not the live guard's: the live approval route does not know it.
    expect((await call('GET', '/api/actions/guarded', TOKENS.view)).json.pending).toEqual([]);
    expect((await call('POST', `/api/sessions/${id}/actions/${pid}/approve`, TOKENS.op)).status).toBe(403); // the requester
    expect((await call('POST', `/api/sessions/${id}/actions/${pid}/approve`, TOKENS.op2)).status).toBe(403); // the same role
    expect(await inputs()).toBe(before + 1);
    const approved = await call('POST', `/api/sessions/${id}/actions/${pid}/approve`, TOKENS.trainer);
    expect(approved.status, JSON.stringify(approved.json)).toBe(202);
    expect(await inputs()).toBe(before + 2);
    expect((await call('POST', `/api/sessions/${id}/actions/${pid}/approve`, TOKENS.trainer)).status).toBe(404); // once
    // The live engine is untouched.
    expect(server.engine.journal.length).toBe(liveJournal);
    expect(server.engine.kernel.view(server.engine.index.indexOf('pw-dx-1')!).status).not.toBe(Status.Isolated);

    // A rejected request runs nothing.
    const second = await call('POST', `/api/sessions/${id}/actions/request`, TOKENS.op, { action: 'isolate', target: 'pw-dx-4' });
    expect((await call('POST', `/api/sessions/${second.json.pending.id as number}/actions/1/reject`, TOKENS.op, {})).status).toBe(404);
    expect((await call('POST', `/api/sessions/${id}/actions/${second.json.pending.id as number}/reject`, TOKENS.op2, { reason: 'not now' })).status).toBe(200);
    expect(await inputs()).toBe(before + 2);

    const finish = await call('POST', `/api/sessions/${id}/finish`, TOKENS.trainer);
    expect(finish.status).toBe(200);
    expect(finish.json.traineeDecisions).toEqual(expect.arrayContaining([expect.objectContaining({ command: { type: 'isolate', target: 'pw-dx-1' } })]));

    const events = verifyLedgerFile(join(dir, 'ledger.ndjson')).entries.filter((e) => e.kind === 'training').map((e) => e.payload as { event: string; session?: string });
    expect(events.filter((e) => e.session === id).map((e) => e.event)).toEqual(expect.arrayContaining(['approval-request', 'approval', 'rejection']));
    const audit = server.audit.list(1000).filter((e) => e.via === `session:${id}`);
    expect(audit.map((e) => [e.who, e.action, e.result])).toEqual(expect.arrayContaining([
      ['op', 'isolate', 'conflict'],
      ['op', 'request.isolate', 'ok'],
      ['op', 'approve', 'forbidden'],
      ['tr', 'approve.isolate', 'ok'],
    ]));
  }, 60_000);

  it('what-if goes through the door: audited, run in the worker to the in-process result, and says when the action itself is guarded', async () => {
    expect((await call('POST', '/api/inject', TOKENS.admin, { type: 'fail', target: 'pw-tx-0', hazard: 'fire' })).status).toBe(202);
    const journal = server.engine.journal.length;
    const body = { command: { type: 'isolate', target: 'pw-dx-1' }, horizonSeconds: 3600 };
    const done = await call('POST', '/api/whatif', TOKENS.op, body);
    expect(done.status).toBe(200);
    expect(done.json.guarded).toBe(true);
    // The server's what-if ran in its worker thread; in process it gives the same answer.
    const local = await whatIf({
      city: server.engine.index.city, seed: server.engine.kernel.seed, cityHash: server.engine.cityHash, behaviours,
      journal: server.engine.journal.iterate(), untilSeq: journal, atMs: done.json.atMs as number, command: { type: 'isolate', target: 'pw-dx-1' }, horizonSeconds: 3600,
    });
    expect(done.json.with.summary.stateHash).toBe(local.with.summary.stateHash);
    expect(done.json.without.summary.stateHash).toBe(local.without.summary.stateHash);
    expect(done.json.delta).toEqual(local.delta);
    expect(done.json.without.summary.failed).toBeGreaterThan(0);
    expect((await call('POST', '/api/whatif', TOKENS.op, { command: { type: 'shed', target: 'pw-dx-1', share: 0.5 } })).json.guarded).toBe(false);
    expect((await call('POST', '/api/whatif', TOKENS.view, body)).status).toBe(403);
    expect((await call('POST', '/api/whatif', TOKENS.op, { command: { type: 'isolate', target: 'pw-nowhere' } })).status).toBe(404);
    expect((await call('POST', '/api/whatif', TOKENS.op, { ...body, horizonSeconds: 8 * 86_400 })).status).toBe(400);
    const audit = server.audit.list(1000).filter((e) => e.action === 'whatif.isolate').map((e) => e.result);
    expect(audit).toEqual(expect.arrayContaining(['ok', 'not-found']));
    expect(server.engine.journal.length).toBe(journal);
  }, 60_000);
});

describe('what-if in slices', () => {
  it('gives the event loop turns between instants and the same result however it is sliced', async () => {
    const city = cityFromSource(CITY);
    const live = await Engine.create({ city, behaviours, seed: 3, driver: 'direct' });
    live.submit({ type: 'fail', target: 'pw-tx-0', hazard: 'fire' }, { at: 30, source: 'scenario:drill' });
    live.submit({ type: 'fail', target: 'wt-ps-0', hazard: 'flood' }, { at: 900, source: 'scenario:drill' });
    await live.runUntil(600_000);
    const options = { city, seed: 3, behaviours, journal: live.journal.iterate(), untilSeq: live.journal.length, atMs: 600_000, command: { type: 'restore', target: 'pw-tx-0' } as const, horizonSeconds: 7200 };
    let turns = 0;
    let ticking = true;
    const tick = (): void => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const sliced = await whatIf({ ...options, sliceMs: 0 });
    ticking = false;
    expect(turns).toBeGreaterThan(10);
    const whole = await whatIf({ ...options, sliceMs: Number.MAX_SAFE_INTEGER });
    expect(sliced).toEqual(whole);
    expect(sliced.with.summary.stateHash).not.toBe(sliced.without.summary.stateHash);
    await live.stop();
  });
});
