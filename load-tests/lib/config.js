// @ts-check
/**
 * Options from the environment (`k6 run -e NAME=value` or exported variables), shared by every
 * script. See load-tests/README.md for the table.
 */
import http from 'k6/http';
import exec from 'k6/execution';
import { sleep } from 'k6';

/** @param {string} name @param {string} fallback */
export function env(name, fallback) {
  const v = __ENV[name];
  return v === undefined || v === '' ? fallback : v;
}

/** @param {string} name @param {number} fallback */
export function num(name, fallback) {
  const raw = env(name, '');
  if (raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new Error(`${name}=${raw} is not a number`);
  return v;
}

/**
 * Seconds in a k6-style duration: `90`, `90s`, `2m`, `1m30s`, `1h`.
 * @param {string} text
 */
export function seconds(text) {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let matched = '';
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const v = Number(m[1]);
    total += m[2] === 'h' ? v * 3600 : m[2] === 'm' ? v * 60 : m[2] === 's' ? v : v / 1000;
    matched += m[0];
  }
  if (matched !== text || text === '') throw new Error(`not a duration: "${text}" (use 30s, 2m, 1m30s)`);
  return total;
}

export const TARGET_URL = env('TARGET_URL', 'http://127.0.0.1:8080').replace(/\/$/, '');
export const DURATION_S = seconds(env('DURATION', '1m'));
/** Ramp-up of viewers, default a quarter of the run (at most 60 s). */
export const RAMP_S = seconds(env('RAMP', String(Math.min(60, Math.max(1, Math.round(DURATION_S / 4))))));
export const VIEWERS = num('VIEWERS', 10);
export const WS_CONSUMERS = num('WS_CONSUMERS', 5);
/** Viewer session length; a viewer reconnects (fresh snapshot) when it ends. Default: the whole run. */
export const SESSION_S = seconds(env('SESSION', String(DURATION_S)));
export const MAX_RATE_HZ = num('MAX_RATE_HZ', 10);
export const INGEST_RATE = num('INGEST_RATE', 20);
export const INJECT_RATE = num('INJECT_RATE', 2);
export const OPERATOR_RATE = num('OPERATOR_RATE', 1);
/** Viewers that also measure inject → delta latency (each injects one telemetry reading per PROBE_INTERVAL). */
export const PROBE_VUS = num('PROBE_VUS', 2);
export const PROBE_INTERVAL_S = seconds(env('PROBE_INTERVAL', '2s'));
/** A probe not seen in a frame within this time counts as missed. */
export const PROBE_TIMEOUT_S = seconds(env('PROBE_TIMEOUT', '5s'));
/** Assets sampled in setup() as targets. */
export const SAMPLE = num('SAMPLE', 400);

/** @param {string} name */
function list(name) {
  return env(name, '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}
/** Token pools per role; each falls back to TOKEN. Requests spread over a pool round-robin. */
export const TOKENS = {
  viewer: list('VIEWER_TOKENS').length > 0 ? list('VIEWER_TOKENS') : list('TOKEN'),
  injector: list('INJECTOR_TOKENS').length > 0 ? list('INJECTOR_TOKENS') : list('TOKEN'),
  operator: list('OPERATOR_TOKENS').length > 0 ? list('OPERATOR_TOKENS') : list('TOKEN'),
};

/**
 * A token of the pool, spread by a counter (VU id or iteration number).
 * @param {'viewer' | 'injector' | 'operator'} role
 * @param {number} n
 */
export function tokenFor(role, n) {
  const pool = TOKENS[role];
  if (pool.length === 0) throw new Error(`no ${role} token: set ${role.toUpperCase()}_TOKENS or TOKEN`);
  return pool[n % pool.length];
}

/** The view every viewer subscribes to (env VIEW_LAYERS, VIEW_DISTRICTS, VIEW_COHORTS, MAX_RATE_HZ). */
export function viewRequest() {
  /** @type {{ layers?: string[], districts?: string[], cohorts?: boolean, maxRateHz: number }} */
  const view = { maxRateHz: MAX_RATE_HZ };
  const layers = list('VIEW_LAYERS');
  const districts = list('VIEW_DISTRICTS');
  if (layers.length > 0) view.layers = layers;
  if (districts.length > 0) view.districts = districts;
  if (env('VIEW_COHORTS', '') !== '') view.cohorts = env('VIEW_COHORTS', '1') !== '0';
  return view;
}

/** Threshold limits, each overridable from env. */
export const LIMITS = {
  snapshotP95Ms: num('SNAPSHOT_P95_MS', 3000),
  latencyP99Ms: num('LATENCY_P99_MS', 500),
  errorRate: num('ERROR_RATE', 0.01),
  framesBehindMax: num('FRAMES_BEHIND_MAX', 2),
  httpP95Ms: num('HTTP_P95_MS', 500),
  probeMissRate: num('PROBE_MISS_RATE', 0.05),
};

/** Seconds left of the whole run, from the scenario start. */
export function remainingSeconds() {
  const elapsed = (Date.now() - exec.scenario.startTime) / 1000;
  return Math.max(0, DURATION_S - elapsed);
}

/** @param {string} token */
export function authHeaders(token) {
  return { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } };
}

/**
 * @typedef {object} SampleAsset
 * @property {string} id
 * @property {number} index   actor index (frames carry it)
 * @property {number} load
 * @property {string} district
 * @property {string | null} layer
 * @property {string} status
 *
 * @typedef {object} SetupData
 * @property {SampleAsset[]} assets
 * @property {string[]} districts
 * @property {number} total   assets in the city
 */

/**
 * setup(): waits until the twin is ready (at most 60 s) and samples SAMPLE assets as targets,
 * from pages at random offsets (GET /api/assets). Any role's token reads.
 * @returns {SetupData}
 */
export function sampleCity() {
  const token = TOKENS.viewer[0] ?? TOKENS.injector[0] ?? TOKENS.operator[0];
  if (token === undefined) throw new Error('no token: set TOKEN (or VIEWER_TOKENS / INJECTOR_TOKENS / OPERATOR_TOKENS)');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = http.get(`${TARGET_URL}/readyz`, { tags: { name: 'setup' } });
    if (r.status === 200) break;
    if (Date.now() > deadline) throw new Error(`${TARGET_URL}/readyz did not answer 200 within 60 s (last: ${r.status} ${r.error})`);
    sleep(0.5);
  }
  const params = { ...authHeaders(token), tags: { name: 'setup' } };
  const first = http.get(`${TARGET_URL}/api/assets?limit=1`, params);
  if (first.status !== 200) throw new Error(`GET /api/assets: ${first.status} ${String(first.body).slice(0, 200)}`);
  const total = Number(/** @type {{ total: number }} */ (first.json()).total);
  const pages = 4;
  const per = Math.max(1, Math.ceil(SAMPLE / pages));
  /** @type {Map<string, SampleAsset>} */
  const byId = new Map();
  for (let p = 0; p < pages; p++) {
    const offset = Math.floor(Math.random() * Math.max(1, total - per));
    const r = http.get(`${TARGET_URL}/api/assets?limit=${per}&offset=${offset}`, params);
    if (r.status !== 200) throw new Error(`GET /api/assets: ${r.status}`);
    for (const a of /** @type {{ items: SampleAsset[] }} */ (r.json()).items) byId.set(a.id, { id: a.id, index: a.index, load: a.load, district: a.district, layer: a.layer, status: a.status });
  }
  const assets = [...byId.values()];
  const districts = [...new Set(assets.map((a) => a.district))];
  return { assets, districts, total };
}

/**
 * @template T
 * @param {readonly T[]} items
 * @returns {T}
 */
export function pick(items) {
  return items[Math.floor(Math.random() * items.length)];
}
