import { describe, expect, it } from 'vitest';
import { browserAvailability } from '../twin-ui/browser.ts';
import { skippedSuites } from './global-setup.ts';

describe('npm test on a fresh machine says what it skipped and how to enable it', () => {
  it('skips the browser suite without a Chromium, naming the path and the command', () => {
    const choice = browserAvailability({}, '/nowhere/chromium');
    expect(choice.skip).toBe(true);
    expect(choice.reason).toContain('/nowhere/chromium');
    expect(choice.reason).toContain('apt-get install chromium');
    expect(choice.reason).toContain('CHROMIUM_PATH');
  });

  it('requires the browser under STRATUM_REQUIRE_SERVICES=1 (CI): no skip', () => {
    expect(browserAvailability({ STRATUM_REQUIRE_SERVICES: '1' }, '/nowhere/chromium').skip).toBe(false);
  });

  it('lists every skipped service suite with the command that starts its service', () => {
    const text = skippedSuites({ CHROMIUM_PATH: '/nowhere' });
    for (const name of ['PostgreSQL', 'Redis', 'Kafka']) expect(text).toMatch(new RegExp(`${name} suites: skipped: STRATUM_\\w+ not set \\(eval "\\$\\(bash infrastructure/native/all.sh start\\)"`));
    expect(skippedSuites({ STRATUM_PG_URL: 'postgres://x', STRATUM_REDIS_URL: 'redis://x', STRATUM_KAFKA_BROKERS: 'k:9092', STRATUM_REQUIRE_SERVICES: '1' })).toBe('');
  });
});
