import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity, loadCityFile, ManualWallClock, parseCity } from '../../engine/index.ts';
import { main, BUNDLED_PLACE } from '../cli/index.ts';
import { startServerWith, type ServerInternals } from '../server.ts';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const TOKENS = { ADMIN_TOKEN: 'readme-admin-token-1', TRAINER_TOKEN: 'readme-trainer-token', OPERATOR_TOKEN: 'readme-operator-token' };

interface Call {
  readonly line: string;
  /** An HTTP method, or `CLI` for an `npx stratum …` line (its arguments in `argv`). */
  readonly method: string;
  readonly argv?: readonly string[];
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

/** Splits a shell line into words the way sh would for these examples (quotes, no globbing). */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

/**
 * The `curl` calls of the README's API example block, in order, with `$VARS` expanded from the
 * block's own assignments and the tokens. Understands what the block uses: -s, -H, -X, -d, a URL.
 */
function readmeCalls(markdown: string, heading: string, fence = 'sh', extraVars: Record<string, string> = {}): Call[] {
  const section = markdown.slice(markdown.indexOf(heading));
  const block = new RegExp(`\`\`\`${fence}\\n([\\s\\S]*?)\`\`\``).exec(section)?.[1];
  if (block === undefined) throw new Error(`no ${fence} block under "${heading}"`);
  const vars: Record<string, string> = { ...TOKENS, ...extraVars };
  const expand = (s: string): string => s.replace(/\$([A-Z_]+)/g, (_, name: string) => vars[name] ?? `$${name}`);
  const calls: Call[] = [];
  for (const raw of block.replace(/\\\n\s*/g, ' ').split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').replace(/^#.*$/, '').trim();
    if (line === '') continue;
    const assignment = /^([A-Z_]+)="([^"]*)"$/.exec(line);
    if (assignment) {
      vars[assignment[1]!] = expand(assignment[2]!);
      continue;
    }
    const argv = words(line).map(expand);
    if (argv[0] === 'npx' && argv[1] === 'stratum') {
      calls.push({ line, method: 'CLI', argv: argv.slice(2), path: '', headers: {}, body: undefined });
      continue;
    }
    if (argv[0] !== 'curl') throw new Error(`not a curl line: ${line}`);
    const headers: Record<string, string> = {};
    let method: string | undefined;
    let body: string | undefined;
    let url: string | undefined;
    for (let i = 1; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '-s') continue;
      if (a === '-H' || a === '-sH') {
        const [name, ...value] = argv[++i]!.split(':');
        headers[name!.trim().toLowerCase()] = value.join(':').trim();
      } else if (a === '-X') method = argv[++i];
      else if (a === '-d') body = argv[++i];
      else if (a.startsWith('-')) throw new Error(`unknown curl flag ${a} in: ${line}`);
      else url = a;
    }
    if (url === undefined) throw new Error(`no URL in: ${line}`);
    // curl sends -d as a form unless told otherwise; the examples must say application/json.
    if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    calls.push({ line, method: method ?? (body === undefined ? 'GET' : 'POST'), path: url.replace(/^(https?:\/\/)?localhost:8080/, ''), headers, body });
  }
  return calls;
}

describe('the README examples work as written', () => {
  let server: ServerInternals;
  // The live run's and the sessions' wall clock: the test moves it between two lines as the person
  // typing them would (the live run moves on, a playing session passes its handover).
  const wall = new ManualWallClock();

  beforeAll(async () => {
    const city = parseCity(generateCity({ assets: 400, seed: 1 }), 'readme');
    const env = {
      ...process.env,
      STRATUM_TOKENS: `tr:trainer:${TOKENS.TRAINER_TOKEN},op:operator:${TOKENS.OPERATOR_TOKEN}`,
      STRATUM_RECORDINGS: mkdtempSync(join(tmpdir(), 'stratum-readme-')),
    };
    server = await startServerWith({ city, seed: 1, port: 0, quiet: true, adminToken: TOKENS.ADMIN_TOKEN, uiDir: false }, { env, runnerClock: wall, sessionPlaybackClock: wall });
  });
  afterAll(async () => server.close());

  it('runs every curl line of "Replay and training over the API" in order, each answered with a success', async () => {
    const calls = readmeCalls(readFileSync(README, 'utf8'), '### Replay and training over the API');
    expect(calls.map((c) => `${c.method} ${c.path}`)).toContain('POST /api/scenarios/storm-crossing/run');
    const ids: Record<string, string> = {};
    for (const call of calls) {
      const path = call.path.replace(/\b(REC|SESSION)\b/g, (name) => ids[name] ?? name);
      const body = call.body?.replace(/\b(REC|SESSION)\b/g, (name) => ids[name] ?? name);
      const reply = await fetch(`${server.url}${path}`, { method: call.method, headers: call.headers, ...(body === undefined ? {} : { body }) });
      const text = await reply.text();
      expect(reply.ok, `${call.line}\n→ ${reply.status} ${text}`).toBe(true);
      const json = JSON.parse(text) as { id?: string; session?: { id: string } };
      if (call.method === 'POST' && path === '/api/recordings') ids['REC'] = json.id!;
      if (call.method === 'POST' && path === '/api/sessions') ids['SESSION'] = json.session!.id;
      // A tenth of a wall second between two lines, as for someone typing them.
      await wall.advance(100, () => server.runner.whenSettled());
    }
    expect(Object.keys(ids).sort()).toEqual(['REC', 'SESSION']);
  }, 60_000);

  it('runs every example of "History" against the city `npm start` serves (curl lines, then `npx stratum history`), each answered with a success', async () => {
    const calls = readmeCalls(readFileSync(README, 'utf8'), '## History', 'bash', { T: TOKENS.ADMIN_TOKEN });
    expect(calls.map((c) => c.method)).toEqual(['GET', 'GET', 'CLI']);
    // The examples name the bundled place's assets and districts (pw-tx-1, keskusta): serve it, with an incident in its history.
    const place = await startServerWith({ city: loadCityFile(BUNDLED_PLACE), seed: 1, port: 0, quiet: true, adminToken: TOKENS.ADMIN_TOKEN, uiDir: false }, { paused: true, env: {} });
    try {
      place.engine.submit({ type: 'fail', target: 'pw-tx-1', hazard: 'fire' }, { at: 600, source: 'test' });
      await place.engine.runUntil(3 * 3_600_000);
      await runHistoryExamples(place.url, calls);
    } finally {
      await place.close();
    }
  }, 60_000);

  async function runHistoryExamples(url: string, calls: readonly Call[]): Promise<void> {
    for (const call of calls) {
      if (call.method === 'CLI') {
        // The example names no --url: the server comes from STRATUM_URL, as the README says.
        let out = '';
        let err = '';
        process.env['STRATUM_URL'] = url;
        try {
          const code = await main(['node', 'stratum', ...call.argv!], { out: (x) => void (out += x), err: (x) => void (err += x) });
          expect(code, `${call.line}\n→ ${err}`).toBe(0);
        } finally {
          delete process.env['STRATUM_URL'];
        }
        expect(out).toMatch(/layer power, district keskusta/);
        continue;
      }
      const reply = await fetch(`${url}${call.path}`, { method: call.method, headers: call.headers });
      const text = await reply.text();
      expect(reply.ok, `${call.line}\n→ ${reply.status} ${text}`).toBe(true);
      if (call.headers['accept'] === 'text/csv') {
        expect(text.split('\n')[0]).toMatch(/^start_ms,samples,failed/);
      } else {
        const body = JSON.parse(text) as { statusChanges: Array<{ to: string }> };
        expect(body).toMatchObject({ time: 'virtual-ms', store: 'embedded', asset: 'pw-tx-1' });
        expect(body.statusChanges.map((c) => c.to)).toContain('failed');
      }
    }
  }

  it('takes an empty JSON body where nothing is required, and names the body when one is', async () => {
    const post = (path: string) => fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: '' });
    expect((await post('/api/scenarios/earthquake/run')).status).toBe(202);
    const missing = await post('/api/sessions');
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { problems: Array<{ path: string; reason: string }> }).problems[0]).toEqual({ path: 'body', reason: 'a JSON body is required (content-type: application/json)' });
  });
});
