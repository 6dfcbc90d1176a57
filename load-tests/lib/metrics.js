// @ts-check
/**
 * Custom metrics (defined in the init context, shared by every script) and the thresholds that
 * go with them. Names start with `stratum_`; README.md says what each one means.
 */
import { Counter, Rate, Trend, Gauge } from 'k6/metrics';
import { LIMITS } from './config.js';

export const frames = new Counter('stratum_frames');
export const frameBytes = new Counter('stratum_frame_bytes');
export const snapshotMs = new Trend('stratum_snapshot_ms', true);
export const connectMs = new Trend('stratum_connect_ms', true);
export const frameIntervalMs = new Trend('stratum_frame_interval_ms', true);
export const framesBehind = new Trend('stratum_frames_behind');
export const decodeErrors = new Counter('stratum_frame_decode_errors');
export const sequenceErrors = new Counter('stratum_frame_sequence_errors');
export const snapshotCountOk = new Rate('stratum_snapshot_count_ok');
export const deltaActors = new Trend('stratum_delta_actors');
export const failedInView = new Gauge('stratum_failed_in_snapshot');
export const injectToDeltaMs = new Trend('stratum_inject_to_delta_ms', true);
export const probesSeen = new Counter('stratum_probes_seen');
export const probeMissed = new Rate('stratum_probe_missed');
export const inputs = new Counter('stratum_inputs_accepted');
export const conflicts = new Counter('stratum_inputs_conflict');
export const errors = new Rate('stratum_errors');

/** Thresholds of the streaming side (viewers, ws consumers). */
export function streamThresholds() {
  return {
    stratum_errors: [`rate<${LIMITS.errorRate}`],
    stratum_snapshot_ms: [`p(95)<${LIMITS.snapshotP95Ms}`],
    stratum_frames: ['count>0'],
    stratum_frame_sequence_errors: ['count==0'],
    stratum_frame_decode_errors: ['count==0'],
    stratum_snapshot_count_ok: ['rate==1'],
    stratum_frames_behind: [`max<=${LIMITS.framesBehindMax}`],
    checks: ['rate>0.99'],
  };
}

/** Thresholds of the inject → delta probes. */
export function probeThresholds() {
  return {
    stratum_inject_to_delta_ms: [`p(99)<${LIMITS.latencyP99Ms}`],
    stratum_probes_seen: ['count>0'],
    stratum_probe_missed: [`rate<${LIMITS.probeMissRate}`],
  };
}

/** Thresholds of the input side (ingest, injectors, operators). */
export function inputThresholds() {
  return {
    stratum_errors: [`rate<${LIMITS.errorRate}`],
    http_req_failed: [`rate<${LIMITS.errorRate}`],
    'http_req_duration{kind:input}': [`p(95)<${LIMITS.httpP95Ms}`],
    stratum_inputs_accepted: ['count>0'],
    checks: ['rate>0.99'],
  };
}
