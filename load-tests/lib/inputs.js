// @ts-check
/**
 * The input side: telemetry ingest, scenario injections (a storm: wind damage, cyber attacks,
 * heat, public orders) and operator actions, each one HTTP request per iteration with a role token.
 */
import http from 'k6/http';
import exec from 'k6/execution';
import { check } from 'k6';
import { authHeaders, pick, TARGET_URL, TOKENS, tokenFor } from './config.js';
import * as m from './metrics.js';
// The server's own schemas (gateways/protocol.ts, bundled by `npm run load:build`): a body that
// drifts from the contract fails here, in the client, naming the field.
import { inputCommandSchema, shedBodySchema } from './protocol.bundle.js';

/** @typedef {import('./config.js').SetupData} SetupData */

/** 409 (the live state refuses the action, e.g. restoring an asset that is ok) is an answer, not a failure. */
const expected = http.expectedStatuses({ min: 200, max: 299 }, 409);

/**
 * @param {string} what
 * @param {unknown} body
 * @param {string} token
 */
function inject(what, body, token) {
  const r = http.post(`${TARGET_URL}/api/inject`, JSON.stringify(inputCommandSchema.parse(body)), { ...authHeaders(token), tags: { name: `inject ${what}`, kind: 'input' } });
  const ok = check(r, { [`${what} accepted (202)`]: (x) => x.status === 202 });
  m.errors.add(!ok, { what });
  if (ok) m.inputs.add(1, { what });
  else console.warn(`${what}: ${r.status} ${String(r.body).slice(0, 200)}`);
}

/** Token of the pool for this iteration (spreads per-token rate limits evenly). */
function iterationToken(/** @type {'injector' | 'operator'} */ role) {
  return tokenFor(role, exec.scenario.iterationInTest);
}

/**
 * One telemetry reading (a demand measurement) for a sampled asset.
 * @param {SetupData} data
 */
export function ingestTelemetry(data) {
  const a = pick(data.assets);
  const value = Math.round(Math.max(a.load, 1) * (0.5 + 0.5 * Math.random()) * 1000) / 1000;
  inject('telemetry', { type: 'telemetry', target: a.id, value }, iterationToken('injector'));
}

/**
 * One scenario injection of a storm: mostly wind damage of random severity, some cyber attacks,
 * heat in a district and public orders.
 * @param {SetupData} data
 */
export function injectStorm(data) {
  const r = Math.random();
  const token = iterationToken('injector');
  if (r < 0.7) {
    inject('fail', { type: 'fail', target: pick(data.assets).id, hazard: 'wind', severity: Math.round((0.3 + 0.7 * Math.random()) * 100) / 100 }, token);
  } else if (r < 0.8) {
    inject('cyber', { type: 'cyber', target: pick(data.assets).id, attack: pick(['compromise', 'ddos', 'ransomware']) }, token);
  } else if (r < 0.9) {
    inject('ambient', { type: 'ambient', target: `district:${pick(data.districts)}`, celsius: Math.round(18 + 20 * Math.random()) }, token);
  } else {
    inject('order', { type: 'order', target: `district:${pick(data.districts)}`, order: pick(['shelter', 'all-clear', 'save-water']) }, token);
  }
}

/**
 * One operator action chosen from the asset's live state (GET first): isolate or shed an ok asset,
 * restore an isolated one, repair a failed one. A 409 (the state changed in between) is counted,
 * not failed. Every 20th iteration also checks role gating: a viewer token must get 403 on inject.
 * @param {SetupData} data
 */
export function operatorAction(data) {
  const token = iterationToken('operator');
  const a = pick(data.assets);
  const params = { ...authHeaders(token), tags: { name: 'GET /api/assets/:id', kind: 'read' } };
  const s = http.get(`${TARGET_URL}/api/assets/${encodeURIComponent(a.id)}`, params);
  if (!check(s, { 'asset read (200)': (x) => x.status === 200 })) {
    m.errors.add(1, { what: 'read' });
    return;
  }
  const status = String(/** @type {{ status: string }} */ (s.json()).status);
  let action;
  /** @type {string | null} */
  let body = null;
  if (status === 'isolated') action = 'restore';
  else if (status === 'failed' || status === 'faulted') action = Math.random() < 0.5 ? 'repair' : 'restore';
  else if (status === 'degraded') action = 'restore';
  else if (Math.random() < 0.5) action = 'isolate';
  else {
    action = 'shed';
    body = JSON.stringify(shedBodySchema.parse({ share: 0.1 }));
  }
  // No body, no content type: fastify refuses an empty body declared as JSON.
  const headers = body === null ? { headers: { authorization: `Bearer ${token}` } } : authHeaders(token);
  const r = http.post(`${TARGET_URL}/api/assets/${encodeURIComponent(a.id)}/${action}`, body, {
    ...headers, tags: { name: `POST /api/assets/:id/${action}`, kind: 'input' }, responseCallback: expected,
  });
  const ok = check(r, { 'operator action answered (202 or 409)': (x) => x.status === 202 || x.status === 409 });
  m.errors.add(!ok, { what: action });
  if (r.status === 202) m.inputs.add(1, { what: action });
  else if (r.status === 409) m.conflicts.add(1, { what: action });
  else console.warn(`${action} ${a.id}: ${r.status} ${String(r.body).slice(0, 200)}`);

  const viewerTokens = TOKENS.viewer.filter((t) => !TOKENS.injector.includes(t) && !TOKENS.operator.includes(t));
  if (exec.scenario.iterationInTest % 20 === 0 && viewerTokens.length > 0) {
    const denied = http.post(`${TARGET_URL}/api/inject`, JSON.stringify(inputCommandSchema.parse({ type: 'fail', target: a.id })), {
      ...authHeaders(pick(viewerTokens)), tags: { name: 'role gating', kind: 'gating' }, responseCallback: http.expectedStatuses(403),
    });
    check(denied, { 'viewer token may not inject (403)': (x) => x.status === 403 });
  }
}
