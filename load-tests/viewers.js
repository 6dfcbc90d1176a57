// @ts-check
/**
 * Socket.io viewers: ramp up to VIEWERS viewers (the browser UI's transport), each subscribing to
 * the view (default: the whole city at MAX_RATE_HZ) and decoding every frame. The first PROBE_VUS
 * viewers also inject a telemetry reading every PROBE_INTERVAL and time it to the delta.
 *
 *   k6 run -e TARGET_URL=http://127.0.0.1:8080 -e TOKEN=… -e VIEWERS=100 -e DURATION=2m load-tests/viewers.js
 */
import { DURATION_S, PROBE_VUS, RAMP_S, SESSION_S, TOKENS, VIEWERS, sampleCity } from './lib/config.js';
import { probeThresholds, streamThresholds } from './lib/metrics.js';
import { probeSession, socketIoViewer } from './lib/stream.js';

const probes = PROBE_VUS > 0 && TOKENS.injector.length > 0;

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    viewers: {
      executor: 'ramping-vus',
      exec: 'viewer',
      startVUs: 0,
      stages: [
        { duration: `${RAMP_S}s`, target: VIEWERS },
        { duration: `${Math.max(1, DURATION_S - RAMP_S)}s`, target: VIEWERS },
      ],
      gracefulRampDown: `${Math.ceil(Math.min(SESSION_S, DURATION_S)) + 5}s`,
      gracefulStop: '10s',
    },
  },
  thresholds: { ...streamThresholds(), ...(probes ? probeThresholds() : {}) },
  summaryTrendStats: ['avg', 'min', 'med', 'p(95)', 'p(99)', 'max', 'count'],
};

export function setup() {
  return sampleCity();
}

/** @param {import('./lib/config.js').SetupData} data */
export function viewer(data) {
  socketIoViewer(data, { probe: probes && probeSession(VIEWERS) });
}
