import { InvalidArgumentError, type Command } from 'commander';
import { StratumError } from '../../engine/index.ts';
import { UsageError, type Io } from './analysis-cli.ts';
import { parseDuration, parseInstant } from '../history/index.ts';

/**
 * `stratum history`: asks a running server's history API (`GET /api/assets/:id/history`,
 * `GET /api/history`) and prints a table, CSV (`--csv`) or JSON (`--json`). Through the server rather
 * than straight at the database: the same answer whatever the store (embedded or PostgreSQL), the
 * server's token and rights, and the city's names for assets and causes.
 */
export class HistoryRequestError extends StratumError {}

const DURATION_HELP = 'ms or 30s, 5m, 1h, 1d';
const INSTANT_HELP = 'virtual time: ms or a duration since the run began (36h), now, now-24h';

function instant(flag: string) {
  return (value: string): string => {
    if (parseInstant(value, 0) === undefined) throw new InvalidArgumentError(`${flag} must be a virtual time (${INSTANT_HELP}); got "${value}"`);
    return value;
  };
}

function duration(flag: string) {
  return (value: string): string => {
    const ms = parseDuration(value);
    if (ms === undefined || ms < 1_000) throw new InvalidArgumentError(`${flag} must be a duration of at least 1s (${DURATION_HELP}); got "${value}"`);
    return value;
  };
}

function baseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`--url must be an http(s) URL such as http://127.0.0.1:8080 (got "${value}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`--url must be an http(s) URL (got "${value}")`);
  return url.toString().replace(/\/$/, '');
}

interface HistoryOptions {
  asset?: string;
  layer?: string;
  district?: string;
  session?: string;
  run?: string;
  from?: string;
  to?: string;
  step?: string;
  csv?: boolean;
  json?: boolean;
  url?: string;
  token?: string;
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const num = (v: number, digits = 2): string => (Number.isInteger(v) ? v.toLocaleString('en-GB') : v.toFixed(digits));
const clock = (ms: number): string => {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86_400);
  const hms = [Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60), s % 60].map((x) => String(x).padStart(2, '0')).join(':');
  return d > 0 ? `${d}d ${hms}` : hms;
};

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => pad(c, widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the server's JSON, whose shape the OpenAPI document gives
type Json = any;

function render(body: Json, asset: boolean): string {
  let out = `# ${asset ? `asset ${body.asset} (${body.kind}, ${body.layer ?? 'cohort'}, ${body.district})` : `layer ${body.layer ?? 'all'}, district ${body.district ?? 'all'}`}; ${body.scope}, store ${body.store}\n`;
  out += `# virtual time ${clock(body.fromMs)} – ${clock(body.toMs)} in steps of ${clock(body.stepMs)} (now ${clock(body.nowMs)})\n`;
  if (asset) {
    out += table(['start', 'changes', 'mean load', 'max load', 'min level', 'max stress', 'status'],
      body.buckets.map((b: Json) => [clock(b.startMs), String(b.changes), num(b.meanLoad), num(b.maxLoad), num(b.minLevel, 3), num(b.maxStress, 3), b.lastStatus]));
    out += `\n# status changes${body.statusChangesTruncated ? ' (first 10,000)' : ''}\n`;
    out += body.statusChanges.length === 0 ? '(none)\n' : table(['time', 'from', 'to', 'cause', 'by', 'cause time'],
      body.statusChanges.map((c: Json) => [clock(c.timeMs), c.from, c.to, c.cause?.code ?? '-', c.cause?.from ?? '-', c.cause === null ? '-' : clock(c.cause.timeMs)]));
    return out;
  }
  return out + table(['start', 'failed', 'degraded', 'no power', 'no water', 'no telecom', `cost/h (${body.currency})`],
    body.buckets.map((b: Json) => [clock(b.startMs), String(b.failed), String(b.degraded), num(b.peopleWithout.power), num(b.peopleWithout.water), num(b.peopleWithout.telecom), num(b.costPerHour)]));
}

export function registerHistoryCommands(program: Command, io: Io): void {
  program
    .command('history')
    .description('History from a running server: one asset (--asset) or a layer/district (--layer, --district) over virtual time')
    .option('--asset <id>', 'one asset (or cohort): load, level, stress and status per bucket, and every status change with its cause')
    .option('--layer <layer>', 'one layer (with or without --district): failures, people without service, cost rate per bucket')
    .option('--district <district>', 'one district (alone: every layer of it)')
    .option('--session <id>', 'a replay/training session of the server instead of the live run')
    .option('--run <id>', 'an earlier run (the server keeps them with the PostgreSQL history)')
    .option('--from <time>', `start (${INSTANT_HELP}; default to − 1h)`, instant('--from'))
    .option('--to <time>', `end (${INSTANT_HELP}; default now)`, instant('--to'))
    .option('--step <duration>', `bucket width (${DURATION_HELP}; default: ≤ 200 buckets)`, duration('--step'))
    .option('--csv', 'print CSV (as the API gives it with Accept: text/csv)')
    .option('--json', 'print the API\'s JSON')
    .option('--url <url>', 'the server (default STRATUM_URL, else http://127.0.0.1:8080)', baseUrl)
    .option('--token <token>', 'bearer token with the read right (default STRATUM_TOKEN)')
    .action(async (opts: HistoryOptions) => {
      if ((opts.asset === undefined) === (opts.layer === undefined && opts.district === undefined)) throw new UsageError('give --asset ID, or --layer L and/or --district D (not both)');
      if (opts.asset !== undefined && (opts.layer !== undefined || opts.district !== undefined)) throw new UsageError('--asset cannot be combined with --layer or --district');
      if (opts.csv === true && opts.json === true) throw new UsageError('--csv and --json: choose one');
      const url = opts.url ?? baseUrl(process.env['STRATUM_URL'] ?? 'http://127.0.0.1:8080');
      const token = opts.token ?? process.env['STRATUM_TOKEN'];
      if (token === undefined || token === '') throw new UsageError('--token (or STRATUM_TOKEN) is required: a token with the read right');
      const query = new URLSearchParams();
      for (const key of ['layer', 'district', 'session', 'run', 'from', 'to', 'step'] as const) if (opts[key] !== undefined) query.set(key, opts[key]);
      const path = opts.asset === undefined ? '/api/history' : `/api/assets/${encodeURIComponent(opts.asset)}/history`;
      let res: Response;
      try {
        res = await fetch(`${url}${path}?${query}`, { headers: { authorization: `Bearer ${token}`, accept: opts.csv === true ? 'text/csv' : 'application/json' } });
      } catch (error) {
        throw new HistoryRequestError(`cannot reach ${url} (--url): ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`);
      }
      const text = await res.text();
      if (!res.ok) {
        let message = text;
        try {
          message = (JSON.parse(text) as { message?: string }).message ?? text;
        } catch {
          // not JSON: print the text
        }
        throw new HistoryRequestError(`${res.status} from ${url}${path}: ${message}`);
      }
      if (opts.csv === true) io.out(text);
      else if (opts.json === true) io.out(`${text}\n`);
      else io.out(render(JSON.parse(text), opts.asset !== undefined));
    });
}
