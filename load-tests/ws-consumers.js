// @ts-check
/**
 * Raw ws consumers of the binary stream (`/ws?token=…`): WS_CONSUMERS machine clients for the whole
 * run, each decoding every frame. The first PROBE_VUS consumers also time inject → delta.
 *
 *   k6 run -e TARGET_URL=http://127.0.0.1:8080 -e TOKEN=… -e WS_CONSUMERS=50 -e DURATION=2m load-tests/ws-consumers.js
 */
import { DURATION_S, PROBE_VUS, SESSION_S, TOKENS, WS_CONSUMERS, sampleCity } from './lib/config.js';
import { probeThresholds, streamThresholds } from './lib/metrics.js';
import { probeSession, wsConsumer } from './lib/stream.js';

const probes = PROBE_VUS > 0 && TOKENS.injector.length > 0;

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    consumers: {
      executor: 'constant-vus',
      exec: 'consumer',
      vus: WS_CONSUMERS,
      duration: `${DURATION_S}s`,
      gracefulStop: `${Math.ceil(Math.min(SESSION_S, DURATION_S)) + 5}s`,
    },
  },
  thresholds: { ...streamThresholds(), ...(probes ? probeThresholds() : {}) },
  summaryTrendStats: ['avg', 'min', 'med', 'p(95)', 'p(99)', 'max', 'count'],
};

export function setup() {
  return sampleCity();
}

/** @param {import('./lib/config.js').SetupData} data */
export function consumer(data) {
  wsConsumer(data, { probe: probes && probeSession(WS_CONSUMERS) });
}
