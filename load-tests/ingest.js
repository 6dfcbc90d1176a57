// @ts-check
/**
 * Telemetry ingest at a constant arrival rate (INGEST_RATE readings/s) through `POST /api/inject`
 * (`{ type: 'telemetry', target, value }`), spread over the injector token pool.
 *
 * Kafka: where Kafka is up (STRATUM_KAFKA_BROKERS), telemetry can also arrive on the engine's input
 * topic. k6 core has no Kafka client (that needs the xk6-kafka extension and a custom k6 build), so
 * this suite does not fake it: see README.md "Kafka ingest" for running a companion producer next
 * to this script.
 *
 *   k6 run -e TARGET_URL=http://127.0.0.1:8080 -e TOKEN=… -e INGEST_RATE=200 -e DURATION=2m load-tests/ingest.js
 */
import { DURATION_S, INGEST_RATE, sampleCity } from './lib/config.js';
import { ingestTelemetry } from './lib/inputs.js';
import { inputThresholds } from './lib/metrics.js';

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    ingest: {
      executor: 'constant-arrival-rate',
      exec: 'ingest',
      rate: INGEST_RATE,
      timeUnit: '1s',
      duration: `${DURATION_S}s`,
      preAllocatedVUs: Math.max(2, Math.ceil(INGEST_RATE / 20)),
      maxVUs: Math.max(10, Math.ceil(INGEST_RATE * 2)),
    },
  },
  thresholds: { ...inputThresholds(), dropped_iterations: [`count<${Math.max(1, Math.ceil(INGEST_RATE * DURATION_S * 0.01))}`] },
  summaryTrendStats: ['avg', 'min', 'med', 'p(95)', 'p(99)', 'max', 'count'],
};

export function setup() {
  return sampleCity();
}

/** @param {import('./lib/config.js').SetupData} data */
export function ingest(data) {
  ingestTelemetry(data);
}
