// @ts-check
/**
 * Scenario injections and operator actions at steady rates with role tokens: a storm (wind damage,
 * cyber attacks, district heat, public orders) at INJECT_RATE/s with injector tokens, and operator
 * actions (isolate, shed, restore, repair, chosen from the asset's live state) at OPERATOR_RATE/s
 * with operator tokens. Also checks that a viewer token is refused (403) when it tries to inject.
 *
 *   k6 run -e TARGET_URL=… -e INJECTOR_TOKENS=… -e OPERATOR_TOKENS=… -e VIEWER_TOKENS=… load-tests/injectors.js
 */
import { DURATION_S, INJECT_RATE, OPERATOR_RATE, sampleCity } from './lib/config.js';
import { injectStorm, operatorAction } from './lib/inputs.js';
import { inputThresholds } from './lib/metrics.js';

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    storm: {
      executor: 'constant-arrival-rate',
      exec: 'storm',
      rate: INJECT_RATE,
      timeUnit: '1s',
      duration: `${DURATION_S}s`,
      preAllocatedVUs: Math.max(2, Math.ceil(INJECT_RATE / 20)),
      maxVUs: Math.max(10, Math.ceil(INJECT_RATE * 2)),
    },
    operators: {
      executor: 'constant-arrival-rate',
      exec: 'operator',
      rate: OPERATOR_RATE,
      timeUnit: '1s',
      duration: `${DURATION_S}s`,
      preAllocatedVUs: Math.max(2, Math.ceil(OPERATOR_RATE / 10)),
      maxVUs: Math.max(10, Math.ceil(OPERATOR_RATE * 2)),
    },
  },
  thresholds: inputThresholds(),
  summaryTrendStats: ['avg', 'min', 'med', 'p(95)', 'p(99)', 'max', 'count'],
};

export function setup() {
  return sampleCity();
}

/** @param {import('./lib/config.js').SetupData} data */
export function storm(data) {
  injectStorm(data);
}

/** @param {import('./lib/config.js').SetupData} data */
export function operator(data) {
  operatorAction(data);
}
