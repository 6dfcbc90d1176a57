import { existsSync } from 'node:fs';
import { request } from 'node:http';
import type { TestProject } from 'vitest/node';
import { serviceFromEnv } from '../gateways/adapters/testing.ts';
import { browserAvailability } from '../twin-ui/browser.ts';

/**
 * Integration services for the tests. When a service's URL is already in the environment (the
 * natively started services of `infrastructure/native/`, as in CI), that one is used. Otherwise, if a
 * Docker daemon answers, testcontainers starts it: Redis, TimescaleDB and a KRaft Kafka broker.
 * Without either, the integration tests skip with their reason (or fail under
 * STRATUM_REQUIRE_SERVICES=1). The URLs reach the test workers through `provide`/`inject`
 * (test/worker-setup.ts copies them into the worker's environment).
 */
declare module 'vitest' {
  export interface ProvidedContext {
    serviceUrls: Record<string, string>;
  }
}

/** True when a Docker daemon answers `/_ping` on its socket. */
async function dockerAvailable(): Promise<boolean> {
  const host = process.env['DOCKER_HOST'];
  const socketPath = host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
  if (host !== undefined && !host.startsWith('unix://')) return true;
  if (!existsSync(socketPath)) return false;
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** The suites that skip on this machine and why, with the command that enables each ('' when none skip). */
export function skippedSuites(env: NodeJS.ProcessEnv): string {
  const lines = [
    ['PostgreSQL suites', serviceFromEnv('pg', env)],
    ['Redis suites', serviceFromEnv('redis', env)],
    ['Kafka suites', serviceFromEnv('kafka', env)],
    ['browser suite (twin-ui/e2e.test.ts)', browserAvailability(env)],
  ] as const;
  const skipped = lines.filter(([, choice]) => choice.skip).map(([name, choice]) => `  - ${name}: ${choice.reason}`);
  return skipped.length === 0 ? '' : `Suites skipped on this machine (the rest of npm test runs without them; CI requires them all):\n${skipped.join('\n')}`;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const urls: Record<string, string> = {};
  const stops: Array<() => Promise<unknown>> = [];
  const want = {
    redis: process.env['STRATUM_REDIS_URL'] === undefined,
    pg: process.env['STRATUM_PG_URL'] === undefined,
    kafka: process.env['STRATUM_KAFKA_BROKERS'] === undefined,
  };
  if ((want.redis || want.pg || want.kafka) && (await dockerAvailable())) {
    const { GenericContainer } = await import('testcontainers');
    if (want.redis) {
      const redis = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
      urls['STRATUM_REDIS_URL'] = `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`;
      stops.push(() => redis.stop());
    }
    if (want.pg) {
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const pg = await new PostgreSqlContainer('timescale/timescaledb:latest-pg16').withDatabase('stratum').withUsername('stratum').withPassword('stratum').start();
      urls['STRATUM_PG_URL'] = pg.getConnectionUri();
      stops.push(() => pg.stop());
    }
    if (want.kafka) {
      const { KafkaContainer } = await import('@testcontainers/kafka');
      const kafka = await new KafkaContainer('confluentinc/cp-kafka:7.6.1').withKraft().start();
      urls['STRATUM_KAFKA_BROKERS'] = `${kafka.getHost()}:${kafka.getMappedPort(9093)}`;
      stops.push(() => kafka.stop());
    }
  }
  project.provide('serviceUrls', urls);
  const skipped = skippedSuites({ ...process.env, ...urls });
  if (skipped.length > 0) process.stdout.write(`\n${skipped}\n`);
  return async () => {
    for (const stop of stops) await stop();
    // Again at the end, beside the summary, where a reader of the run looks.
    if (skipped.length > 0) process.stdout.write(`\n${skipped}\n`);
  };
}
