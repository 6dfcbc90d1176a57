import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startBanner } from './cli.ts';
import { freshDataDir, runCli } from '../../test/cli-run.ts';


const run = runCli;

describe('stratum start: bad ports and busy ports get one clear line', () => {
  let blocker: Server | undefined;
  afterEach(() => blocker?.close());

  for (const value of ['abc', '-1', '8080x', '70000', '']) {
    it(`PORT=${JSON.stringify(value)} exits 2 naming PORT`, async () => {
      const { code, err } = await run(['start', '--no-ui', '--assets', '100'], { PORT: value });
      expect(code).toBe(2);
      expect(err.split('\n')[0]).toBe(`stratum: PORT must be a port number from 0 to 65535 (got "${value}")`);
    });
  }

  it('--port 8080x exits 2 naming the flag', async () => {
    const { code, err } = await run(['start', '--no-ui', '--port', '8080x']);
    expect(code).toBe(2);
    expect(err).toContain('--port must be a port number from 0 to 65535 (got "8080x")');
  });

  it('a port in use prints one line without a stack trace and exits 1', async () => {
    blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker!.listen(0, '127.0.0.1', () => resolve((blocker!.address() as { port: number }).port)));
    const { code, err } = await run(['start', '--no-ui', '--assets', '100', '--port', String(port)], { STRATUM_ADMIN_TOKEN: 'x'.repeat(24) });
    expect(code).toBe(1);
    expect(err).toBe(`stratum: cannot listen on 127.0.0.1:${port}: the port is in use (another stratum start?); choose another with --port N (or PORT=N) or --host\n`);
  });

  it('a bad STRATUM_LOG_LEVEL exits 2 naming it', async () => {
    const { code, err } = await run(['start', '--no-ui', '--port', '0'], { STRATUM_LOG_LEVEL: 'loud' });
    expect(code).toBe(2);
    expect(err).toContain('STRATUM_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")');
  });
});

describe('stratum start: what it prints', () => {
  it('prints a ready-to-open link that signs in with the token', () => {
    const text = startBanner({ assets: 5000, url: 'http://127.0.0.1:8080', token: 'abc+/=', ui: true });
    expect(text).toBe('Stratum Twin serving 5000 assets at http://127.0.0.1:8080\nopen the twin: http://127.0.0.1:8080/#token=abc%2B%2F%3D\nadmin token: abc+/=\n');
    expect(startBanner({ assets: 1, url: 'u', token: 't', ui: false })).not.toContain('#token=');
  });

  it('logs no request lines by default (they would scroll the token away), and does with --log-level info', async () => {
    const cli = fileURLToPath(new URL('../../bin/stratum.mjs', import.meta.url));
    const startAndRequest = async (extra: string[]): Promise<string> => {
      const env: Record<string, string | undefined> = { ...process.env, STRATUM_ADMIN_TOKEN: 'a'.repeat(24), STRATUM_DATA_DIR: freshDataDir() };
      delete env['STRATUM_LOG_LEVEL'];
      const child = spawn(process.execPath, [cli, 'start', '--no-ui', '--port', '0', '--assets', '100', ...extra], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout!.on('data', (c: Buffer) => void (text += c.toString()));
      child.stderr!.on('data', (c: Buffer) => void (text += c.toString()));
      try {
        const deadline = Date.now() + 30_000;
        while (!/admin token: /.test(text)) {
          if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no start; output: ${text}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        const url = /serving \d+ assets at (\S+)/.exec(text)![1]!;
        expect((await fetch(`${url}/healthz`)).status).toBe(200);
      } finally {
        // 'close' (not 'exit'): every line the process wrote, the request's log line included, has been read.
        child.kill('SIGTERM');
        await new Promise((r) => child.once('close', r));
      }
      return text;
    };
    expect(await startAndRequest([])).not.toMatch(/"reqId"/);
    expect(await startAndRequest(['--log-level', 'info'])).toMatch(/"reqId"/);
  }, 60_000);
});

describe('stratum piped into a reader that stops early', () => {
  it('exits quietly (no EPIPE stack trace), as `stratum generate … | head -c 100` does', async () => {
    const cli = fileURLToPath(new URL('../../bin/stratum.mjs', import.meta.url));
    const child = spawn(process.execPath, [cli, 'generate', '--assets', '20000', '--seed', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => void (stderr += c.toString()));
    child.stdout!.once('data', () => child.stdout!.destroy());
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  }, 30_000);
});
