import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateCity, parseCity } from '../../engine/index.ts';
import { verifyLedgerFile } from '../../scenarios/index.ts';
import { startServerWith } from '../server.ts';

const ADMIN = 'admin-token-held-actions-0123456789';
const OPERATOR = 'operator-token-held-actions-01234';
const VIEWER = 'viewer-token-held-actions-0123456';

describe('POST /api/actions/:id/refuse', () => {
  it('refuses a pending action: it leaves the queue and the refusal is ledgered with its reason; a viewer may not, an unknown id is a 404', async () => {
    const city = parseCity(generateCity({ assets: 200, seed: 3 }), 'generated');
    const ledgerFile = join(mkdtempSync(join(tmpdir(), 'stratum-held-')), 'ledger.ndjson');
    const server = await startServerWith(
      { city, seed: 3, port: 0, quiet: true, adminToken: ADMIN, dataDir: false, uiDir: false },
      { paused: true, env: { STRATUM_TOKENS: `otto:operator:${OPERATOR},vera:viewer:${VIEWER}`, STRATUM_LEDGER_FILE: ledgerFile } },
    );
    const call = async (method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
      const reply = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: reply.status, json: (await reply.json()) as Record<string, unknown> };
    };
    try {
      const target = city.assets.find((a) => a.layer === 'power')!.id;
      const requested = await call('POST', '/api/actions/request', ADMIN, { action: 'isolate', target, reason: 'storm coming' });
      expect(requested.status).toBe(202);
      const id = (requested.json['pending'] as { id: number }).id;
      expect((await call('POST', `/api/actions/${id}/refuse`, VIEWER, { reason: 'no' })).status).toBe(403);
      const refused = await call('POST', `/api/actions/${id}/refuse`, OPERATOR, { reason: 'the storm turned' });
      expect(refused).toEqual({ status: 200, json: { ok: true, refused: id } });
      expect(((await call('GET', '/api/actions/guarded', OPERATOR)).json['pending'] as unknown[])).toEqual([]);
      const again = await call('POST', `/api/actions/${id}/refuse`, OPERATOR);
      expect(again.status).toBe(404);
      expect(String(again.json['message'])).toMatch(new RegExp(`no pending action ${id}`));
      const rejection = verifyLedgerFile(ledgerFile).entries.find((e) => e.kind === 'rejection')!;
      expect(rejection).toMatchObject({ who: 'otto', role: 'operator', payload: { id, reason: 'the storm turned', command: { type: 'isolate', target } } });
      expect(server.engine.journal.entries.filter((e) => e.command.type === 'isolate')).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
