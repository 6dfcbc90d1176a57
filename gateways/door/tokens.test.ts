import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io as ioClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { generateCity, parseCity } from '../../engine/index.ts';
import { configuredTokens, hashToken, newTokenLine, TokenConfigError, TokenStore } from './auth.ts';
import { startServerWith, type ServerInternals } from '../server.ts';

const ADMIN = 'admin-token-tokens-test';

describe('token store', () => {
  it('takes a token by its SHA-256 hash, so the file holds no usable secret', () => {
    const { token, line } = newTokenLine('olga', 'operator');
    expect(line).toBe(`olga:operator:sha256:${hashToken(token)}`);
    expect(line).not.toContain(token);
    const store = new TokenStore();
    store.addSpec(`# rota\n${line}\nvic:viewer:plain-token-1\n`, 'tokens.txt');
    expect(store.verify(token)).toMatchObject({ name: 'olga', role: 'operator' });
    expect(store.verify('plain-token-1')).toMatchObject({ name: 'vic', role: 'viewer' });
    expect(store.verify(`sha256:${hashToken(token)}`)).toBeUndefined();
    expect(store.list()).toEqual([{ name: 'olga', role: 'operator' }, { name: 'vic', role: 'viewer' }]);
  });

  it('names the file and entry of a bad line, and a failed read of the file changes nothing', () => {
    const store = new TokenStore();
    expect(() => store.addSpec('olga:operator:sha256:abc', 'tokens.txt')).toThrow(/tokens\.txt: the token hash of "olga" must be sha256: and 64 hex digits/);
    expect(() => store.addSpec('x:boss:12345678', 'tokens.txt')).toThrow(/tokens\.txt: unknown role "boss" for "x"/);
    expect(() => configuredTokens(hashToken(ADMIN), { STRATUM_TOKENS_FILE: '/nonexistent/tokens' })).toThrow(TokenConfigError);
    expect(() => configuredTokens(hashToken(ADMIN), { STRATUM_TOKENS_FILE: '/nonexistent/tokens' })).toThrow(/\/nonexistent\/tokens: cannot read the tokens file \(ENOENT\)/);
  });

  it('reports what a replacement added, removed and changed', () => {
    const before = new TokenStore();
    before.addSpec('a:viewer:token-aaaa,b:viewer:token-bbbb,c:operator:token-cccc', 'env');
    const after = new TokenStore();
    after.addSpec('a:viewer:token-aaaa,b:admin:token-bbbb,d:injector:token-dddd', 'env');
    expect(before.replaceWith(after)).toEqual({ added: ['d'], removed: ['c'], changed: ['b'] });
    expect(before.verify('token-cccc')).toBeUndefined();
    expect(before.verify('token-bbbb')?.role).toBe('admin');
  });
});

describe('token rotation on a running server (real fastify, socket.io and ws)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stratum-tokens-'));
  const file = join(dir, 'tokens');
  const olga = newTokenLine('olga', 'operator');
  const nina = newTokenLine('nina', 'injector');
  let server: ServerInternals;

  const api = async (method: string, path: string, token: string): Promise<{ status: number; json: { message?: string; [k: string]: unknown } }> => {
    const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, json: (await res.json()) as { message?: string } };
  };

  beforeAll(async () => {
    writeFileSync(file, `${olga.line}\nvic:viewer:viewer-token-1\n`);
    const city = parseCity(generateCity({ assets: 200, seed: 4 }), 'gen');
    server = await startServerWith({ city, seed: 4, port: 0, quiet: true, adminToken: ADMIN, uiDir: false }, { env: { STRATUM_TOKENS_FILE: file } });
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reloads the file: removed and re-roled tokens stop working and their connections close; a bad file changes nothing', async () => {
    expect((await api('GET', '/api/whoami', olga.token)).json).toEqual({ name: 'olga', role: 'operator' });
    // olga on Socket.io, vic on raw ws: both will lose their access.
    const socket = ioClient(server.url, { auth: { token: olga.token }, transports: ['websocket'], reconnection: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws?token=viewer-token-1`);
    await new Promise((resolve, reject) => {
      ws.once('message', resolve);
      ws.once('error', reject);
    });
    const socketGone = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    const wsGone = new Promise<[number, string]>((resolve) => ws.once('close', (code, reason) => resolve([code, reason.toString()])));

    writeFileSync(file, `# rotated\nvic:operator:viewer-token-1\n${nina.line}\n`);
    expect((await api('POST', '/api/tokens/reload', 'viewer-token-1')).status).toBe(403);
    const reload = await api('POST', '/api/tokens/reload', ADMIN);
    expect(reload.status).toBe(200);
    expect(reload.json).toEqual({ ok: true, added: ['nina'], removed: ['olga'], changed: ['vic'], disconnected: 2, total: 3 });
    expect(await socketGone).toBe('io server disconnect');
    expect(await wsGone).toEqual([1008, 'token revoked or its role changed']);
    expect((await api('GET', '/api/whoami', olga.token)).status).toBe(401);
    expect((await api('GET', '/api/whoami', 'viewer-token-1')).json).toEqual({ name: 'vic', role: 'operator' });
    expect((await api('GET', '/api/whoami', nina.token)).json).toEqual({ name: 'nina', role: 'injector' });
    // The old token cannot come back in through the handshake either.
    const again = ioClient(server.url, { auth: { token: olga.token }, transports: ['websocket'], reconnection: false });
    const refused = await new Promise<Error>((resolve) => again.once('connect_error', resolve));
    expect(refused.message).toBe('unauthorized');
    again.close();

    const list = await api('GET', '/api/tokens', ADMIN);
    expect(list.json).toEqual({ principals: [{ name: 'admin', role: 'admin' }, { name: 'nina', role: 'injector' }, { name: 'vic', role: 'operator' }] });
    expect(JSON.stringify(list.json)).not.toContain('sha256');
    expect((await api('GET', '/api/tokens', nina.token)).status).toBe(403);

    // A broken file: 409 naming the file and the entry; every token in force stays.
    writeFileSync(file, `vic:operator:viewer-token-1\nzed:boss:12345678\n`);
    const bad = await api('POST', '/api/tokens/reload', ADMIN);
    expect(bad.status).toBe(409);
    expect(bad.json.message).toContain(`${file}: unknown role "boss" for "zed"`);
    expect(bad.json.message).toContain('the previous ones stay in force');
    expect((await api('GET', '/api/whoami', nina.token)).status).toBe(200);
    // Refused by the route's right check (before the handler), then the admin's two reloads.
    const audit = server.audit.list(20).filter((e) => e.action.includes('tokens'));
    expect(audit.map((e) => [e.who, e.action, e.result])).toEqual([
      ['vic', 'POST /api/tokens/reload', 'forbidden'],
      ['admin', 'tokens.reload', 'ok'],
      ['admin', 'tokens.reload', 'conflict'],
    ]);
  });
});

describe('stratum start reloads the tokens file on SIGHUP', () => {
  it('grants a token added to the file after the signal, and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-hup-'));
    const file = join(dir, 'tokens');
    writeFileSync(file, 'vic:viewer:viewer-token-1\n');
    const cli = fileURLToPath(new URL('../../bin/stratum.mjs', import.meta.url));
    const child = spawn(process.execPath, [cli, 'start', '--no-ui', '--port', '0', '--assets', '200'], {
      env: { ...process.env, STRATUM_TOKENS_FILE: file, STRATUM_ADMIN_TOKEN: ADMIN, STRATUM_LOG_LEVEL: 'warn', STRATUM_DATA_DIR: join(dir, 'data') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    // Each wait is for an event (a line on stderr), checked as each chunk arrives; the 30 s bound
    // only turns a hang into a failure naming what never came.
    const until = (what: string, check: () => boolean): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const cleanup = (): void => {
          clearTimeout(bound);
          child.stderr!.off('data', onData);
          child.off('exit', onExit);
        };
        const onData = (): void => {
          if (!check()) return;
          cleanup();
          resolve();
        };
        const onExit = (): void => {
          cleanup();
          reject(new Error(`no ${what}: the server exited; stderr: ${stderr}`));
        };
        const bound = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${what} within 30 s; stderr: ${stderr}`));
        }, 30_000);
        child.stderr!.on('data', onData);
        child.once('exit', onExit);
        onData();
      });
    try {
      await until('start', () => /serving \d+ assets at (\S+)/.test(stderr));
      const url = /serving \d+ assets at (\S+)/.exec(stderr)![1]!;
      const whoami = async (token: string): Promise<number> => (await fetch(`${url}/api/whoami`, { headers: { authorization: `Bearer ${token}` } })).status;
      const nina = newTokenLine('nina', 'injector');
      expect(await whoami(nina.token)).toBe(401);
      writeFileSync(file, `vic:viewer:viewer-token-1\n${nina.line}\n`);
      child.kill('SIGHUP');
      await until('reload message', () => stderr.includes('tokens reloaded'));
      expect(stderr).toContain('added [nina]');
      expect(await whoami(nina.token)).toBe(200);
      writeFileSync(file, 'broken line\n');
      child.kill('SIGHUP');
      await until('refusal message', () => stderr.includes('tokens not reloaded'));
      expect(stderr).toContain(`${file}: "broken line" is not name:role:token`);
      expect(await whoami(nina.token)).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
