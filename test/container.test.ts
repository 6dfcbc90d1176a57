import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isStale } from '../twin-ui/build-ui.ts';
import { ROOT, dockerfileRuntime } from './deploy-settings.ts';

/**
 * The container's network contract without a Docker daemon: the Dockerfile's CMD, with the
 * Dockerfile's ENV, runs from this checkout inside a network namespace this test creates (its own
 * stack, like a container's), joined to this machine's namespace by a veth pair on a private /30.
 * A client outside the namespace must reach it on the exposed port, as through a published port.
 * The control: the same command without HOST (a laptop's `npm start`) listens on the namespace's
 * loopback only and cannot be reached from outside.
 *
 * Needs root and `ip netns`; skips with the reason otherwise, except under
 * STRATUM_REQUIRE_SERVICES=1 (CI runs as root), where it must run.
 */

function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (creating a network namespace needs CAP_NET_ADMIN)';
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return `\`ip netns\` is unavailable: ${probe.error?.message ?? probe.stderr.trim()}`;
  return undefined;
}

const required = process.env['STRATUM_REQUIRE_SERVICES'] === '1';
const unavailable = netnsUnavailable();
const skip = unavailable !== undefined && !required;
if (skip) console.log(`test/container.test.ts skipped: ${unavailable}`);

const docker = dockerfileRuntime(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
// Names and a /30 of its own per test process (10.250.x.0/30 is used by nothing else on these machines).
const tag = String(process.pid % 100_000);
const NS = `stratum-ct-${tag}`;
const HOST_IF = `sct${tag}h`;
const NS_IF = `sct${tag}c`;
const third = process.pid % 250;
const HOST_ADDR = `10.250.${third}.1`;
const NS_ADDR = `10.250.${third}.2`;
const PORT = docker.env['PORT'] ?? '8080';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Starts the CMD in the namespace with `env`; resolves with the child and the URL it says it serves. */
function startInNamespace(env: Record<string, string>): Promise<{ child: ChildProcess; token: string; log: () => string }> {
  const argv = [...docker.cmd];
  // The image ships a built UI (twin-ui/dist from its build stage); a checkout without one would
  // spend a minute of CPU building it, so the test serves the API only then.
  if (isStale()) argv.push('--no-ui');
  const child = spawn('ip', ['netns', 'exec', NS, ...argv], {
    cwd: ROOT,
    // The data directory is the container's volume: each start gets a fresh one, as a new container
    // with a new volume would (the image's /data on this host would carry one run's journal into the next).
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', LOG_LEVEL: 'warn', ...env, STRATUM_DATA_DIR: mkdtempSync(join(tmpdir(), 'stratum-ct-data-')) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the CMD did not say it was serving within 60 s:\n${output}`)), 60_000);
    const onData = (): void => {
      const match = /serving \d+ assets at \S+\nadmin token: (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, token: match[1]!, log: () => output });
      }
    };
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the CMD exited with ${code} before serving:\n${output}`));
    });
  });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

describe.skipIf(skip)(`the Dockerfile's CMD with its ENV, in a network namespace (${unavailable ?? `${NS}, ${HOST_ADDR} ↔ ${NS_ADDR}/30`})`, () => {
  let child: ChildProcess | undefined;

  beforeAll(() => {
    if (unavailable !== undefined) throw new Error(`STRATUM_REQUIRE_SERVICES=1 but ${unavailable}`);
    ip('netns', 'add', NS);
    ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF);
    ip('link', 'set', NS_IF, 'netns', NS);
    ip('addr', 'add', `${HOST_ADDR}/30`, 'dev', HOST_IF);
    ip('link', 'set', HOST_IF, 'up');
    ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_ADDR}/30`, 'dev', NS_IF);
    ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up');
    ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
  });

  afterEach(async () => {
    await stop(child);
    child = undefined;
  });

  afterAll(async () => {
    await stop(child);
    if (unavailable !== undefined) return;
    spawnSync('ip', ['netns', 'del', NS]);
    spawnSync('ip', ['link', 'del', HOST_IF]); // usually gone with its peer already
  });

  it('sets HOST=0.0.0.0 and PORT in the runtime ENV and runs `stratum start` without a --host that would override it', () => {
    expect(docker.env['HOST']).toBe('0.0.0.0');
    expect(docker.cmd.slice(0, 3)).toEqual(['node', 'bin/stratum.mjs', 'start']);
    expect(docker.cmd).not.toContain('--host');
  });

  it('is reached from outside the namespace on the exposed port: /healthz, /readyz and the API', async () => {
    const started = await startInNamespace(docker.env);
    child = started.child;
    const base = `http://${NS_ADDR}:${PORT}`;
    const health = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5_000) });
    expect(health.status).toBe(200);
    const ready = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5_000) });
    expect(ready.status, started.log()).toBe(200);
    const summary = await fetch(`${base}/api/summary`, { headers: { authorization: `Bearer ${started.token}` }, signal: AbortSignal.timeout(10_000) });
    expect(summary.status, started.log()).toBe(200);
  });

  it('without HOST (a laptop\'s npm start) it listens on loopback only: unreachable from outside the namespace', async () => {
    const { HOST: _host, ...laptop } = docker.env;
    const started = await startInNamespace(laptop);
    child = started.child;
    await expect(fetch(`http://${NS_ADDR}:${PORT}/healthz`, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow();
    // …while inside the namespace it answers (so the refusal above is the interface, not a dead server).
    const inside = spawnSync('ip', ['netns', 'exec', NS, process.execPath, '-e', `fetch('http://127.0.0.1:${PORT}/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(2))`], { timeout: 15_000 });
    expect(inside.status).toBe(0);
  });
});
