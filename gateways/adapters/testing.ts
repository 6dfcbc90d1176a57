import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * How the integration tests pick their services. A service is used when its URL is in the
 * environment (`STRATUM_PG_URL`, `STRATUM_REDIS_URL`, `STRATUM_KAFKA_BROKERS`, exported by
 * `infrastructure/native/all.sh start` or by CI). Without it the test is skipped with the reason,
 * unless `STRATUM_REQUIRE_SERVICES=1` (CI), where a missing service fails the test instead.
 */
export type ServiceName = 'pg' | 'redis' | 'kafka';

const ENV: Record<ServiceName, string> = { pg: 'STRATUM_PG_URL', redis: 'STRATUM_REDIS_URL', kafka: 'STRATUM_KAFKA_BROKERS' };

export interface ServiceChoice {
  /** The URL (or broker list) when the service is configured. */
  readonly url: string | undefined;
  /** True when the test should be skipped (never under STRATUM_REQUIRE_SERVICES=1). */
  readonly skip: boolean;
  readonly reason: string;
}

export function serviceFromEnv(name: ServiceName, env: NodeJS.ProcessEnv = process.env): ServiceChoice {
  const variable = ENV[name];
  const url = env[variable];
  const required = env['STRATUM_REQUIRE_SERVICES'] === '1';
  if (url !== undefined && url !== '') return { url, skip: false, reason: `${name} at ${url}` };
  if (required) return { url: undefined, skip: false, reason: `${variable} is not set but STRATUM_REQUIRE_SERVICES=1: start the services (eval "$(bash infrastructure/native/all.sh start)")` };
  return { url: undefined, skip: true, reason: `skipped: ${variable} not set (eval "$(bash infrastructure/native/all.sh start)" to run against the real ${name})` };
}

/** The URL or a failure naming the variable (for tests that run because the service is required). */
export function requireUrl(choice: ServiceChoice): string {
  if (choice.url === undefined) throw new Error(choice.reason);
  return choice.url;
}

/** Polls `check` until it is true or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A service instance of its own (own port and data dir), for tests that stop and start it. */
export interface PrivateService {
  readonly url: string;
  start(): void;
  stop(): void;
  /** Stops it and deletes its data dir. */
  remove(): void;
}

/** True when the PostgreSQL server binaries are installed (infrastructure/native/postgres.sh can run a cluster). */
export function postgresBinariesInstalled(): boolean {
  try {
    return readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));
  } catch {
    return false;
  }
}

/** True when `redis-server` is on the PATH (infrastructure/native/redis.sh can run an instance). */
export function redisServerInstalled(): boolean {
  return (process.env['PATH'] ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, 'redis-server')));
}

const PRIVATE: Record<'postgres' | 'redis', { script: string; portVariable: string }> = {
  postgres: { script: fileURLToPath(new URL('../../infrastructure/native/postgres.sh', import.meta.url)), portVariable: 'PGPORT' },
  redis: { script: fileURLToPath(new URL('../../infrastructure/native/redis.sh', import.meta.url)), portVariable: 'REDIS_PORT' },
};

/**
 * Starts a throw-away PostgreSQL or Redis with its infrastructure/native script on a free port and a
 * fresh run dir (PostgreSQL ~4 s for initdb, Redis < 1 s). A test that stops its service uses this
 * instead of the shared one, so test files running in parallel never see the outage.
 */
export async function startPrivateService(name: 'postgres' | 'redis'): Promise<PrivateService> {
  const { script, portVariable } = PRIVATE[name];
  const dir = mkdtempSync(join(tmpdir(), `stratum-${name}-`));
  const port = await freePort();
  const env = { ...process.env, STRATUM_RUN: dir, [portVariable]: String(port) };
  const run = (command: 'start' | 'stop'): string => execFileSync('bash', [script, command], { env, timeout: 90_000, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
  let url: string;
  try {
    url = run('start');
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let removed = false;
  return {
    url,
    start: () => void run('start'),
    stop: () => void run('stop'),
    remove() {
      if (removed) return;
      removed = true;
      try {
        run('stop');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A TCP port nothing listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
