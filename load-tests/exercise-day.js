// @ts-check
/**
 * An exercise day: everything at once against one twin. Control-room viewers ramp up over
 * Socket.io (with inject → delta probes), machine consumers read the raw ws stream, telemetry flows
 * in at a constant rate, a storm is injected and operators act on what breaks.
 *
 *   k6 run -e TARGET_URL=… -e TOKEN=… -e VIEWERS=200 -e WS_CONSUMERS=20 -e INGEST_RATE=100 \
 *          -e INJECT_RATE=5 -e OPERATOR_RATE=2 -e DURATION=2m load-tests/exercise-day.js
 */
import {
  DURATION_S, INGEST_RATE, INJECT_RATE, OPERATOR_RATE, PROBE_VUS, RAMP_S, SESSION_S, TOKENS, VIEWERS, WS_CONSUMERS, sampleCity,
} from './lib/config.js';
import { ingestTelemetry, injectStorm, operatorAction } from './lib/inputs.js';
import { inputThresholds, probeThresholds, streamThresholds } from './lib/metrics.js';
import { probeSession, socketIoViewer, wsConsumer } from './lib/stream.js';

const probes = PROBE_VUS > 0 && TOKENS.injector.length > 0;
const linger = `${Math.ceil(Math.min(SESSION_S, DURATION_S)) + 5}s`;
/** @param {number} rate */
const arrival = (rate) => ({
  executor: /** @type {const} */ ('constant-arrival-rate'),
  rate,
  timeUnit: '1s',
  duration: `${DURATION_S}s`,
  preAllocatedVUs: Math.max(2, Math.ceil(rate / 20)),
  maxVUs: Math.max(10, Math.ceil(rate * 2)),
});

/** @type {{ [name: string]: import('k6/options').Scenario }} */
const scenarios = {
  viewers: {
    executor: 'ramping-vus',
    exec: 'viewer',
    startVUs: 0,
    stages: [
      { duration: `${RAMP_S}s`, target: VIEWERS },
      { duration: `${Math.max(1, DURATION_S - RAMP_S)}s`, target: VIEWERS },
    ],
    gracefulRampDown: linger,
    gracefulStop: '10s',
  },
};
if (WS_CONSUMERS > 0) scenarios['consumers'] = { executor: 'constant-vus', exec: 'consumer', vus: WS_CONSUMERS, duration: `${DURATION_S}s`, gracefulStop: linger };
if (INGEST_RATE > 0) scenarios['ingest'] = { ...arrival(INGEST_RATE), exec: 'ingest' };
if (INJECT_RATE > 0) scenarios['storm'] = { ...arrival(INJECT_RATE), exec: 'storm' };
if (OPERATOR_RATE > 0) scenarios['operators'] = { ...arrival(OPERATOR_RATE), exec: 'operator' };

/** @type {import('k6/options').Options} */
export const options = {
  scenarios,
  thresholds: { ...inputThresholds(), ...streamThresholds(), ...(probes ? probeThresholds() : {}) },
  summaryTrendStats: ['avg', 'min', 'med', 'p(95)', 'p(99)', 'max', 'count'],
};

export function setup() {
  return sampleCity();
}

/** @param {import('./lib/config.js').SetupData} data */
export function viewer(data) {
  socketIoViewer(data, { probe: probes && probeSession(VIEWERS) });
}

/** @param {import('./lib/config.js').SetupData} data */
export function consumer(data) {
  wsConsumer(data, { probe: false });
}

/** @param {import('./lib/config.js').SetupData} data */
export function ingest(data) {
  ingestTelemetry(data);
}

/** @param {import('./lib/config.js').SetupData} data */
export function storm(data) {
  injectStorm(data);
}

/** @param {import('./lib/config.js').SetupData} data */
export function operator(data) {
  operatorAction(data);
}
