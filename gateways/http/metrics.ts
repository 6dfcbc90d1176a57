import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Engine } from '../../engine/index.ts';
import { WIRE_STATUS_NAMES } from '../protocol.ts';
import type { StreamHub } from '../stream/index.ts';

/**
 * Prometheus metrics for one server, in its own registry (several servers may share a process in
 * tests). Engine figures are read at scrape time; rates are computed between scrapes.
 */
export function createMetrics(engine: Engine, hub: StreamHub, viewers: () => { socketio: number; ws: number }): Registry {
  const registry = new Registry();
  let last = { at: performance.now(), instants: 0, messages: 0 };
  const rates = { instants: 0, messages: 0 };
  const sample = (): void => {
    const now = performance.now();
    const c = engine.kernel.counters;
    const dt = (now - last.at) / 1000;
    if (dt > 0.05) {
      rates.instants = (c.instants - last.instants) / dt;
      rates.messages = (c.messages - last.messages) / dt;
      last = { at: now, instants: c.instants, messages: c.messages };
    }
  };
  new Gauge({ name: 'stratum_engine_instants_total', help: 'Virtual instants processed since start', registers: [registry], collect() { this.set(engine.kernel.counters.instants); } });
  new Gauge({ name: 'stratum_engine_messages_total', help: 'Simulation messages routed since start', registers: [registry], collect() { this.set(engine.kernel.counters.messages); } });
  new Gauge({ name: 'stratum_engine_instants_per_second', help: 'Instants per wall second since the previous scrape', registers: [registry], collect() { sample(); this.set(rates.instants); } });
  new Gauge({ name: 'stratum_engine_messages_per_second', help: 'Messages per wall second since the previous scrape', registers: [registry], collect() { sample(); this.set(rates.messages); } });
  new Gauge({ name: 'stratum_engine_queue_depth', help: 'Messages waiting on the virtual clock', registers: [registry], collect() { this.set(engine.kernel.queueDepth); } });
  new Gauge({ name: 'stratum_engine_virtual_seconds', help: 'Engine virtual clock', registers: [registry], collect() { this.set(engine.now / 1000); } });
  new Gauge({ name: 'stratum_engine_inputs_total', help: 'Inputs accepted into the journal', registers: [registry], collect() { this.set(engine.journal.length); } });
  new Gauge({
    name: 'stratum_actors_by_status',
    help: 'Assets and cohorts by live status',
    labelNames: ['status', 'role'],
    registers: [registry],
    collect() {
      const index = engine.index;
      const assets = new Array<number>(WIRE_STATUS_NAMES.length).fill(0);
      const cohorts = new Array<number>(WIRE_STATUS_NAMES.length).fill(0);
      for (let a = 0; a < index.assetCount + index.cohortCount; a++) {
        const s = engine.kernel.statusOf(a);
        const into = a < index.assetCount ? assets : cohorts;
        into[s] = (into[s] ?? 0) + 1;
      }
      WIRE_STATUS_NAMES.forEach((name, s) => {
        this.set({ status: name, role: 'asset' }, assets[s]!);
        this.set({ status: name, role: 'cohort' }, cohorts[s]!);
      });
    },
  });
  new Gauge({
    name: 'stratum_viewers_connected',
    help: 'Connected streaming clients',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      const v = viewers();
      this.set({ transport: 'socket.io' }, v.socketio);
      this.set({ transport: 'ws' }, v.ws);
    },
  });
  new Gauge({ name: 'stratum_views', help: 'Distinct views (coalescers)', registers: [registry], collect() { this.set(hub.views.size); } });
  const frames = new Counter({ name: 'stratum_frames_cut_total', help: 'Delta frames encoded (once per view)', registers: [registry] });
  const frameBytes = new Counter({ name: 'stratum_frame_bytes_total', help: 'Bytes of delta frames encoded', registers: [registry] });
  const frameActors = new Counter({ name: 'stratum_frame_actor_updates_total', help: 'Actor updates carried by delta frames', registers: [registry] });
  new Gauge({ name: 'stratum_frames_sent_total', help: 'Frames written to sockets', registers: [registry], collect() { this.set(hub.stats.framesSent); } });
  new Gauge({ name: 'stratum_bytes_sent_total', help: 'Frame bytes written to sockets', registers: [registry], collect() { this.set(hub.stats.bytesSent); } });
  new Gauge({ name: 'stratum_frames_merged_total', help: 'Frames skipped for backed-up viewers and later merged', registers: [registry], collect() { this.set(hub.stats.framesSkipped); } });
  new Gauge({ name: 'stratum_snapshots_sent_total', help: 'Snapshot frames sent', registers: [registry], collect() { this.set(hub.stats.snapshotsSent); } });
  hub.onFrame = (_key, bytes, actors) => {
    frames.inc();
    frameBytes.inc(bytes);
    frameActors.inc(actors);
  };
  return registry;
}

/**
 * Event-loop delay in `/metrics`: p99 and max (seconds) since the previous scrape, sampled every
 * 10 ms by node:perf_hooks `monitorEventLoopDelay` (a libuv timer, off the JavaScript thread's
 * work). A request that blocks the loop shows here. Returns the function that stops sampling.
 */
export function registerEventLoopDelay(registry: Registry): () => void {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let snapshot = { p99: 0, max: 0 };
  let taken = false;
  // Both gauges read one snapshot per scrape, and the histogram restarts after it.
  const take = (): { p99: number; max: number } => {
    if (!taken) {
      snapshot = histogram.count === 0 ? { p99: 0, max: 0 } : { p99: histogram.percentile(99) / 1e9, max: histogram.max / 1e9 };
      histogram.reset();
      taken = true;
      queueMicrotask(() => void (taken = false));
    }
    return snapshot;
  };
  new Gauge({ name: 'stratum_event_loop_delay_p99_seconds', help: 'Event-loop delay, 99th percentile since the previous scrape', registers: [registry], collect() { this.set(take().p99); } });
  new Gauge({ name: 'stratum_event_loop_delay_max_seconds', help: 'Event-loop delay, maximum since the previous scrape', registers: [registry], collect() { this.set(take().max); } });
  return () => histogram.disable();
}

/** What `/metrics` shows of the state snapshots (gateways/door/snapshots.ts `SnapshotKeeper`). */
export interface SnapshotFigures {
  readonly last: { readonly seq: number; readonly bytes: number; readonly blockedMs: number; readonly totalMs: number } | undefined;
  readonly counts: { readonly taken: number; readonly failed: number };
}

/**
 * Snapshot gauges: how many were written or failed, and of the last one its journal position, size,
 * the longest it held the event loop at once and its whole duration — what a platform engineer
 * watches to size `STRATUM_SNAPSHOT_EVERY` (a hold that grows with the city shows here first).
 */
export function registerSnapshotMetrics(registry: Registry, keeper: SnapshotFigures): void {
  const gauge = (name: string, help: string, read: () => number | undefined): void => {
    new Gauge({ name, help, registers: [registry], collect() { const v = read(); if (v !== undefined) this.set(v); } });
  };
  gauge('stratum_snapshots_written_total', 'State snapshots written since start', () => keeper.counts.taken);
  gauge('stratum_snapshots_failed_total', 'State snapshots that failed since start (the journal still holds everything)', () => keeper.counts.failed);
  gauge('stratum_snapshot_last_seq', 'Journal position of the last snapshot', () => keeper.last?.seq);
  gauge('stratum_snapshot_last_bytes', 'Size of the last snapshot file', () => keeper.last?.bytes);
  gauge('stratum_snapshot_last_blocked_seconds', 'Longest the last snapshot held the event loop at once (capture or one frame)', () => (keeper.last === undefined ? undefined : keeper.last.blockedMs / 1000));
  gauge('stratum_snapshot_last_duration_seconds', 'From the decision to the renamed file, last snapshot', () => (keeper.last === undefined ? undefined : keeper.last.totalMs / 1000));
}
