import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractData } from '../history/index.ts';
import { PgHistoryQueries } from './history-pg.ts';
import { startTimescalePglite } from './pglite-timescale.ts';
import { requireUrl, serviceFromEnv } from './testing.ts';
import { PgHistory } from './timescale.ts';

/**
 * Grafana cannot run here, so the provisioned dashboard (infrastructure/grafana/dashboards/
 * operations.json) is checked by running every panel's SQL — and the run variable's query — with
 * Grafana's macros expanded, against the real schema (migrated by the adapters) holding a run's
 * history, on PostgreSQL and on TimescaleDB (PGlite). A renamed column or table fails here.
 */
const DASHBOARD = fileURLToPath(new URL('../../infrastructure/grafana/dashboards/operations.json', import.meta.url));

interface Target { refId: string; rawSql: string; format: string }
interface Panel { id: number; type: string; title: string; targets: Target[] }
interface Dashboard { panels: Panel[]; time: { from: string; to: string }; templating: { list: Array<{ name: string; query: string }> } }

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;

/** Grafana's PostgreSQL macros used by the dashboard; anything else left over fails the test. */
function expand(sql: string, run: string): string {
  const out = sql
    .replace(/\$__timeFilter\(([^)]+)\)/g, `$1 BETWEEN '${dashboard.time.from}' AND '${dashboard.time.to}'`)
    .replace(/\$run\b/g, run);
  if (/\$\w/.test(out)) throw new Error(`unexpanded Grafana variable or macro in: ${out}`);
  return out;
}

const postgres = serviceFromEnv('pg');

function dashboardSuite(url: () => string, maxConnections: number): void {
  const run = `grafana-${randomUUID().slice(0, 8)}`;
  let history: PgHistory;

  beforeAll(async () => {
    // The dashboard reads schema `stratum`, the adapters' default.
    history = await PgHistory.open({ url: url(), runId: run, maxConnections, dimensions: (a) => ({ layer: a % 2 === 0 ? 'power' : 'water', district: `d${a % 3}` }) });
    const queries = await PgHistoryQueries.open(history);
    const { changes, samples } = contractData();
    await history.appendChanges(changes);
    await queries.appendSamples([...samples, ...samples.map((s) => ({ ...s, layer: 'power', district: '*' }))]);
    await queries.saveActors([0, 1, 2].map((a) => ({ id: `asset-${a}`, kind: 'feeder', layer: a % 2 === 0 ? 'power' : 'water', district: `d${a % 3}` })));
    await queries.refreshSeries(0, changes.at(-1)!.time + 3_600_000);
  }, 120_000);

  afterAll(async () => {
    for (const t of ['series_samples', 'state_changes', 'history_actors', 'series_1m', 'series_1h']) await history?.pool.query(`DELETE FROM stratum.${t} WHERE run_id = $1`, [run]).catch(() => {});
    await history?.close();
  });

  it('has panels for failures, people without service, top loaded assets and ingest lag', () => {
    const titles = dashboard.panels.map((p) => p.title).join(' | ');
    for (const want of [/failed/i, /people without service/i, /top loaded assets/i, /ingest lag/i]) expect(titles).toMatch(want);
  });

  it('runs the run variable’s query: it lists the run', async () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'run')!;
    const rows = (await history.pool.query(expand(variable.query, run))).rows as Array<{ run_id: string }>;
    expect(rows.map((r) => r.run_id)).toContain(run);
  });

  for (const panel of dashboard.panels) {
    it(`runs panel ${panel.id} “${panel.title}” against the schema and gets rows for the run`, async () => {
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const target of panel.targets) {
        const result = await history.pool.query(expand(target.rawSql, run));
        expect(result.rows.length, `${panel.title}: ${target.rawSql}`).toBeGreaterThan(0);
        if (panel.type === 'timeseries') expect(result.fields[0]?.name).toBe('time');
        for (const row of result.rows as Array<Record<string, unknown>>) for (const v of Object.values(row)) expect(v).not.toBeUndefined();
      }
    });
  }

  it('names the top loaded assets by their ids', async () => {
    const panel = dashboard.panels.find((p) => /top loaded assets/i.test(p.title))!;
    const rows = (await history.pool.query(expand(panel.targets[0]!.rawSql, run))).rows as Array<{ asset: string }>;
    expect(rows.map((r) => r.asset).sort()).toEqual(['asset-0', 'asset-1', 'asset-2']);
  });
}

describe.skipIf(postgres.skip)(`Grafana dashboard SQL on PostgreSQL (${postgres.reason})`, () => {
  dashboardSuite(() => requireUrl(postgres), 2);
});

describe('Grafana dashboard SQL on TimescaleDB (PGlite + timescaledb)', () => {
  let server: { url: string; stop(): Promise<void> } | undefined;
  beforeAll(async () => {
    server = await startTimescalePglite();
  }, 60_000);
  afterAll(async () => server?.stop());
  dashboardSuite(() => server!.url, 1);
});
