// @ts-check
/**
 * Viewer sessions: a Socket.io viewer (the browser UI's transport) and a raw ws consumer of the
 * binary stream (`/ws?token=…`). Both decode every frame, check the frame sequence, and record the
 * streaming metrics. A "probe" viewer also injects one telemetry reading every PROBE_INTERVAL and
 * measures the wall time until the first frame that carries the target asset and is stamped at or
 * after the input's virtual time (the inject reply's `time`): injection → delta latency.
 */
import http from 'k6/http';
import exec from 'k6/execution';
import { check, sleep } from 'k6';
import { WebSocket } from 'k6/websockets';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'k6/timers';
import { SocketIoClient } from './socketio.js';
import { carries, decodeFrame, KIND_SNAPSHOT } from './frames.js';
import {
  authHeaders, pick, PROBE_INTERVAL_S, PROBE_VUS, PROBE_TIMEOUT_S, remainingSeconds, SESSION_S, TARGET_URL, tokenFor, viewRequest,
} from './config.js';
import * as m from './metrics.js';
import { inputCommandSchema, subscribeRequestSchema } from './protocol.bundle.js';

/**
 * @typedef {import('./config.js').SetupData} SetupData
 * @typedef {import('./config.js').SampleAsset} SampleAsset
 */

/** Frame bookkeeping of one subscription. */
class FrameTracker {
  /** @param {{ [name: string]: string }} tags @param {number} startedAt */
  constructor(tags, startedAt) {
    this.tags = tags;
    this.startedAt = startedAt;
    /** Frame number last applied; -1 before the snapshot. */
    this.last = -1;
    this.lastAt = 0;
    /** Actors the subscribe ack announced (null until the ack). */
    this.expected = /** @type {number | null} */ (null);
    this.received = 0;
    /** @type {{ actor: number, id: string, sentAt: number, time: number | null } | null} */
    this.probe = null;
  }

  /** @param {ArrayBuffer} buffer */
  onFrame(buffer) {
    const now = Date.now();
    let f;
    try {
      f = decodeFrame(buffer, this.probe !== null);
    } catch (error) {
      m.decodeErrors.add(1, this.tags);
      console.error(`frame decode: ${String(error)}`);
      return;
    }
    this.received++;
    m.frames.add(1, this.tags);
    m.frameBytes.add(f.bytes, this.tags);
    if (f.kind === KIND_SNAPSHOT) {
      if (this.last < 0) m.snapshotMs.add(now - this.startedAt, this.tags);
      // A resent snapshot (after a gap the ring could not bridge) also counts assets.
      if (this.expected !== null) m.snapshotCountOk.add(f.count === this.expected, this.tags);
      m.failedInView.add(f.failed, this.tags);
    } else {
      if (f.frame === f.since && f.since === this.last && f.count === 0) {
        // "Up to date already": the protocol's empty delta (applyFrame accepts it); nothing to check.
      } else if (this.last < 0 || f.since !== this.last || f.frame <= this.last) {
        m.sequenceErrors.add(1, this.tags);
        console.warn(`frame sequence: delta ${f.since}→${f.frame} after frame ${this.last}`);
      } else {
        m.framesBehind.add(f.frame - f.since - 1, this.tags);
        m.frameIntervalMs.add(now - this.lastAt, this.tags);
      }
      m.deltaActors.add(f.count, this.tags);
      const p = this.probe;
      if (p !== null && f.actors !== null && (p.time === null || f.clock >= p.time) && carries(f.actors, p.actor)) {
        m.injectToDeltaMs.add(now - p.sentAt, this.tags);
        m.probesSeen.add(1, this.tags);
        m.probeMissed.add(false, this.tags);
        this.probe = null;
      }
    }
    if (__ENV.LOAD_DEBUG_FRAMES) console.log(`frame kind=${f.kind} ${f.since}→${f.frame} count=${f.count} clock=${f.clock}`);
    this.last = f.frame;
    this.lastAt = now;
  }

  /**
   * Injects one telemetry reading on an in-service sample asset (asynchronously).
   * @param {SetupData} data @param {string} token
   */
  startProbe(data, token) {
    if (this.probe !== null) {
      if (Date.now() - this.probe.sentAt < PROBE_TIMEOUT_S * 1000) return;
      m.probeMissed.add(true, this.tags);
      console.warn(`probe on ${this.probe.id} not seen within ${PROBE_TIMEOUT_S} s`);
      this.probe = null;
    }
    const candidates = data.assets.filter((a) => a.status === 'ok' && a.load > 0);
    const a = pick(candidates.length > 0 ? candidates : data.assets);
    // A fresh demand reading: always differs from the last one, stays under capacity (×1.5 by default).
    const value = Math.round(Math.max(a.load, 1) * (0.5 + 0.4 * Math.random()) * 1000) / 1000;
    const probe = { actor: a.index, id: a.id, sentAt: Date.now(), time: /** @type {number | null} */ (null) };
    this.probe = probe;
    http.asyncRequest('POST', `${TARGET_URL}/api/inject`, JSON.stringify(inputCommandSchema.parse({ type: 'telemetry', target: a.id, value })), { ...authHeaders(token), tags: { name: 'probe', kind: 'probe' } })
      .then((r) => {
        const ok = check(r, { 'probe inject 202': (x) => x.status === 202 });
        m.errors.add(!ok, { ...this.tags, what: 'probe' });
        if (!ok) {
          if (this.probe === probe) this.probe = null;
          return;
        }
        probe.time = Number(/** @type {{ time: number }} */ (r.json()).time);
      });
  }

  /** Called when the session ends: an outstanding probe older than the timeout is a miss. */
  finish() {
    if (this.probe !== null && Date.now() - this.probe.sentAt >= PROBE_TIMEOUT_S * 1000) m.probeMissed.add(true, this.tags);
  }
}

/**
 * Whether this session probes: about `PROBE_VUS` of `of` concurrent sessions do (every k-th
 * iteration of the scenario, so it holds whatever VU ids other scenarios took).
 * @param {number} of sessions running at once (VIEWERS or WS_CONSUMERS)
 */
export function probeSession(of) {
  if (PROBE_VUS <= 0) return false;
  return exec.scenario.iterationInTest % Math.max(1, Math.floor(of / PROBE_VUS)) === 0;
}

/** True (after idling out the rest of the run) when too little time is left for a new session. */
function tooLate() {
  const left = remainingSeconds();
  if (left >= 2) return false;
  sleep(left);
  return true;
}

/** How long this session lasts: SESSION, cut to the end of the run (minus a second to close cleanly). */
function sessionMs() {
  return Math.max(1000, Math.min(SESSION_S, remainingSeconds() - 1) * 1000);
}

/**
 * The life of one streaming session, the same for Socket.io viewers and ws consumers: optional
 * probe injections, the timed end (check the snapshot arrived, then close), and telling an expected
 * end from the server closing the socket.
 */
class SessionLife {
  /**
   * @param {string} who 'viewer' or 'consumer' (check names and log lines)
   * @param {Record<string, string>} tags
   * @param {FrameTracker} tracker
   * @param {() => void} close closes the session's socket
   */
  constructor(who, tags, tracker, close) {
    this.who = who;
    this.tags = tags;
    this.tracker = tracker;
    this.ended = false;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.probeTimer = null;
    this.endTimer = setTimeout(() => {
      this.ended = true;
      this.stopProbes();
      tracker.finish();
      check(tracker, { [`${who} got its snapshot`]: (t) => t.last >= 0 });
      close();
    }, sessionMs());
  }

  /** @param {SetupData} data */
  startProbes(data) {
    if (this.probeTimer !== null) return;
    const injector = tokenFor('injector', __VU);
    this.probeTimer = setInterval(() => this.tracker.startProbe(data, injector), PROBE_INTERVAL_S * 1000);
  }

  stopProbes() {
    if (this.probeTimer !== null) clearInterval(this.probeTimer);
    this.probeTimer = null;
  }

  /** The socket closed; `unexpected` when the server (not our timed end) closed it. */
  closed(/** @type {boolean} */ unexpected, /** @type {string} */ transport) {
    this.stopProbes();
    if (unexpected && !this.ended) {
      m.errors.add(1, { ...this.tags, what: 'closed' });
      console.error(`${transport} ${this.who}: closed by the server`);
    }
    this.ended = true;
    clearTimeout(this.endTimer);
  }
}

/**
 * One Socket.io viewer session: connect with the token, subscribe to the view, decode frames until
 * the session ends, then close.
 * @param {SetupData} data
 * @param {{ probe: boolean }} opts
 */
export function socketIoViewer(data, opts) {
  if (tooLate()) return;
  const tags = { transport: 'socket.io' };
  const startedAt = Date.now();
  const tracker = new FrameTracker(tags, startedAt);
  const viewerToken = tokenFor('viewer', __VU);
  const life = new SessionLife('viewer', tags, tracker, () => client.close());
  const client = new SocketIoClient(TARGET_URL, viewerToken, {
    onConnect: () => {
      m.connectMs.add(Date.now() - startedAt, tags);
      client.emit('subscribe', subscribeRequestSchema.parse({ view: viewRequest() }), (args) => {
        const ack = /** @type {{ ok: boolean, actors?: number, mode?: string, message?: string }} */ (args[0]);
        const ok = check(ack, { 'subscribe ack ok': (a) => a.ok === true && typeof a.actors === 'number' });
        m.errors.add(!ok, { ...tags, what: 'subscribe' });
        if (!ok) {
          console.error(`subscribe refused: ${JSON.stringify(ack)}`);
          client.close();
          return;
        }
        tracker.expected = ack.actors ?? null;
        if (opts.probe) life.startProbes(data);
      });
    },
    onEvent: (name, args) => {
      if (name === 'hello') check(args[0], { 'hello protocol 1': (h) => /** @type {{ protocol: number }} */ (h).protocol === 1 });
      else if (name === 'problem') {
        m.errors.add(1, { ...tags, what: 'problem' });
        console.error(`problem: ${JSON.stringify(args[0])}`);
      }
    },
    onBinaryEvent: (name, args) => {
      if (name === 'frame' && args[0] instanceof ArrayBuffer) tracker.onFrame(args[0]);
    },
    onError: (reason) => {
      if (life.ended) return;
      m.errors.add(1, { ...tags, what: 'socket' });
      console.error(`socket.io viewer: ${reason}`);
    },
    onClose: (clean) => life.closed(!clean, 'socket.io'),
  });
}

/**
 * One raw ws consumer session: `/ws?token=…&maxRateHz=…` subscribes at once; binary messages are
 * frames, text messages JSON (`hello`, `subscribed`, `alerts`, `clock`, `error`).
 * @param {SetupData} data
 * @param {{ probe: boolean }} opts
 */
export function wsConsumer(data, opts) {
  if (tooLate()) return;
  const tags = { transport: 'ws' };
  const startedAt = Date.now();
  const tracker = new FrameTracker(tags, startedAt);
  const view = viewRequest();
  const q = [`token=${encodeURIComponent(tokenFor('viewer', __VU))}`, `maxRateHz=${view.maxRateHz}`];
  if (view.layers !== undefined) q.push(`layers=${encodeURIComponent(view.layers.join(','))}`);
  if (view.districts !== undefined) q.push(`districts=${encodeURIComponent(view.districts.join(','))}`);
  if (view.cohorts !== undefined) q.push(`cohorts=${view.cohorts ? 1 : 0}`);
  const ws = new WebSocket(`${TARGET_URL.replace(/^http/, 'ws')}/ws?${q.join('&')}`);
  ws.binaryType = 'arraybuffer';
  const life = new SessionLife('consumer', tags, tracker, () => ws.close());
  ws.onopen = () => m.connectMs.add(Date.now() - startedAt, tags);
  ws.onmessage = (event) => {
    if (event === undefined) return;
    const d = event.data;
    if (d instanceof ArrayBuffer) {
      tracker.onFrame(d);
      return;
    }
    if (typeof d !== 'string') return;
    const msg = /** @type {{ type: string, ok?: boolean, actors?: number, protocol?: number }} */ (JSON.parse(d));
    if (msg.type === 'hello') check(msg, { 'hello protocol 1': (h) => h.protocol === 1 });
    else if (msg.type === 'subscribed') {
      const ok = check(msg, { 'subscribe ack ok': (a) => a.ok === true && typeof a.actors === 'number' });
      m.errors.add(!ok, { ...tags, what: 'subscribe' });
      tracker.expected = msg.actors ?? null;
      if (opts.probe) life.startProbes(data);
    } else if (msg.type === 'error') {
      m.errors.add(1, { ...tags, what: 'error-message' });
      console.error(`ws error message: ${d}`);
    }
  };
  ws.onerror = (event) => {
    if (life.ended) return;
    m.errors.add(1, { ...tags, what: 'socket' });
    console.error(`ws consumer: ${event?.error ?? 'error'}`);
  };
  ws.onclose = () => life.closed(true, 'ws');
}
