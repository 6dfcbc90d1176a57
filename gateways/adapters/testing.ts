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
