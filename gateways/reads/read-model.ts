import type { Redis } from 'ioredis';
import { selectAssets, type SummaryResponse } from '../http/index.ts';
import { applyActorColumns, WIRE_STATUS_NAMES, type ActorState, type AssetsQuery, type ClockInfo, type Topology } from '../protocol.ts';
import { connectFanoutRedis, followStream, reachRedis, type FanoutSettings } from '../stream/index.ts';
import { decodeColumns, parseEntryHeader, type StateContext } from './state-codec.ts';
import { readsKeys } from './keys.ts';

/** The static city description a gateway answers from (the engine's topology document, parsed once). */
interface HeldTopology {
  readonly etag: string;
  readonly body: string;
  readonly doc: Topology;
  readonly actorCount: number;
}

interface HeldState {
  readonly epoch: string;
  n: number;
  readonly status: Uint8Array;
  readonly level: Float64Array;
  readonly load: Float64Array;
  readonly stress: Float64Array;
  context: StateContext;
  /** Wall time (this process) the last entry was applied. */
  receivedAt: number;
}

type StreamEntry = [Buffer, Buffer[]];

/** A gateway asks for a snapshot at most this often while it holds no state. */
const SNAPSHOT_REQUEST_MS = 1_000;

function fieldMap(fields: readonly Buffer[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) out.set(fields[i]!.toString(), fields[i + 1]!);
  return out;
}

/** The parts of a topology document the reads use, checked (it crossed Redis). */
function parseTopology(etag: string, body: string): HeldTopology {
  const doc = JSON.parse(body) as Topology;
  const actorCount = doc.assetCount + doc.cohortCount;
  const arrays: [string, unknown, number][] = [['ids', doc.ids, actorCount], ['kind', doc.kind, doc.assetCount], ['layer', doc.layer, doc.assetCount], ['district', doc.district, actorCount]];
  for (const [name, value, length] of arrays) {
    if (!Array.isArray(value) || value.length !== length) throw new Error(`topology: ${name} holds ${Array.isArray(value) ? value.length : 'no'} entries, expected ${length}`);
  }
  if (!Array.isArray(doc.layers) || !Array.isArray(doc.districts) || !Array.isArray(doc.kinds)) throw new Error('topology: layers, districts or kinds is not a list');
  return { etag, body, doc, actorCount };
}

/**
 * A gateway's copy of the live state, fed by the engine's `<p>:state` stream (state-publisher.ts):
 * every actor's status, level, load and stress (the kernel's numbers), the clock and the run summary
 * as of the last entry, and the topology document. Answers the live-state reads the way the engine's
 * routes do (http/api.ts), from what it holds. Not `ready` until it holds a snapshot of the engine
 * it follows and that engine's topology; a gap in the entries makes it ask for a snapshot again.
 */
export class LiveReadModel {
  private readonly keys: ReturnType<typeof readsKeys>;
  private topology: HeldTopology | undefined;
  private topologyLoading = false;
  private state: HeldState | undefined;
  private lastRequest = -Infinity;
  private stopped = false;
  private readonly reader: Redis;
  private readonly loop: Promise<void>;
  private readonly timer: NodeJS.Timeout;
  /** Entries refused (malformed: the stream is shared) and gaps seen; for /metrics and tests. */
  readonly counts = { applied: 0, rejected: 0, gaps: 0, snapshots: 0 };
  /** The last refusal, for the operator (`/readyz`). */
  lastRejection: string | undefined;

  private constructor(private readonly redis: Redis, settings: FanoutSettings, from: string) {
    this.keys = readsKeys(settings.prefix);
    this.reader = redis.duplicate();
    this.requestSnapshot();
    this.loop = followStream((last) => this.reader.xreadBuffer('BLOCK', 1000, 'STREAMS', this.keys.state, last) as Promise<[Buffer, StreamEntry[]][] | null>, from, () => this.stopped, (fields) => this.onEntry(fields));
    this.timer = setInterval(() => {
      if (this.state === undefined) this.requestSnapshot();
      if (this.state !== undefined && this.topology?.etag !== this.state.context.topologyEtag) void this.loadTopology();
    }, SNAPSHOT_REQUEST_MS);
    this.timer.unref();
  }

  static async connect(settings: FanoutSettings): Promise<LiveReadModel> {
    const redis = connectFanoutRedis(settings.redisUrl);
    await reachRedis(redis, settings.redisUrl);
    const keys = readsKeys(settings.prefix);
    // Follow from the newest entry (the snapshot this asks for comes after it).
    const newest = (await redis.xrevrange(keys.state, '+', '-', 'COUNT', 1)) as [string, string[]][];
    const model = new LiveReadModel(redis, settings, newest[0]?.[0] ?? '0-0');
    await model.loadTopology();
    return model;
  }

  /** Holds a state and the topology it belongs to. */
  get ready(): boolean {
    const state = this.state;
    const topology = this.topology;
    return state !== undefined && topology !== undefined && topology.etag === state.context.topologyEtag && topology.actorCount === state.status.length;
  }

  /** What keeps it from being ready (undefined when ready). */
  get notReadyReason(): string | undefined {
    if (this.state === undefined) return 'no snapshot of the engine\'s state yet';
    if (this.topology === undefined || this.topology.etag !== this.state.context.topologyEtag) return 'the engine\'s topology is not loaded yet';
    if (this.topology.actorCount !== this.state.status.length) return `the topology has ${this.topology.actorCount} actors, the state ${this.state.status.length}`;
    return undefined;
  }

  /** Milliseconds since the last entry was applied (how old what this gateway answers may be). */
  get ageMs(): number {
    return this.state === undefined ? Infinity : Date.now() - this.state.receivedAt;
  }

  get epoch(): string | undefined {
    return this.state?.epoch;
  }

  /** The number of the last entry applied (-1: none). */
  get entry(): number {
    return this.state?.n ?? -1;
  }

  private requestSnapshot(): void {
    const now = performance.now();
    if (now - this.lastRequest < SNAPSHOT_REQUEST_MS / 2) return;
    this.lastRequest = now;
    void this.redis.xadd(this.keys.stateRequests, 'MAXLEN', '~', 100, '*', 'snapshot', '1').catch(() => undefined);
  }

  private async loadTopology(): Promise<void> {
    if (this.topologyLoading) return;
    this.topologyLoading = true;
    try {
      const held = await this.redis.hgetall(this.keys.topology);
      if (held['etag'] !== undefined && held['body'] !== undefined && held['etag'] !== this.topology?.etag) this.topology = parseTopology(held['etag'], held['body']);
    } catch (error) {
      this.lastRejection = `topology: ${(error as Error).message}`;
    } finally {
      this.topologyLoading = false;
    }
  }

  private reject(reason: string): void {
    this.counts.rejected++;
    this.lastRejection = reason;
  }

  private onEntry(fields: Buffer[]): void {
    let header: ReturnType<typeof parseEntryHeader>;
    try {
      header = parseEntryHeader(fieldMap(fields));
    } catch (error) {
      this.reject((error as Error).message);
      return;
    }
    const held = this.state;
    if (header.kind === 'snapshot') {
      if (held !== undefined && held.epoch === header.epoch && header.n <= held.n) return; // older than what is held
      let columns: ReturnType<typeof decodeColumns>;
      try {
        columns = decodeColumns(header.columns, Number.MAX_SAFE_INTEGER);
        columns.actors.forEach((a, k) => {
          if (a !== k) throw new Error(`state snapshot: actor ${a} at position ${k} (a snapshot lists every actor in order)`);
        });
      } catch (error) {
        this.reject((error as Error).message);
        return;
      }
      this.state = { epoch: header.epoch, n: header.n, status: columns.status, level: columns.level, load: columns.load, stress: columns.stress, context: header.context, receivedAt: Date.now() };
      this.counts.snapshots++;
      this.counts.applied++;
      if (this.topology?.etag !== header.context.topologyEtag) void this.loadTopology();
      return;
    }
    if (held === undefined || held.epoch !== header.epoch) {
      // A delta of an engine this gateway holds no snapshot of (it just started, or the engine restarted).
      if (held !== undefined) this.state = undefined;
      this.requestSnapshot();
      return;
    }
    if (header.n <= held.n) return; // already applied (read twice)
    if (header.n !== held.n + 1) {
      // An entry went missing (trimmed while this gateway stalled, or lost on the way): start again from a snapshot.
      this.counts.gaps++;
      this.state = undefined;
      this.requestSnapshot();
      return;
    }
    let columns: ReturnType<typeof decodeColumns>;
    try {
      columns = decodeColumns(header.columns, held.status.length);
    } catch (error) {
      this.reject((error as Error).message);
      return;
    }
    applyActorColumns(held, columns.actors, columns);
    held.n = header.n;
    held.context = header.context;
    held.receivedAt = Date.now();
    this.counts.applied++;
  }

  private readyParts(): { state: HeldState; topology: HeldTopology } {
    if (!this.ready) throw new Error(`the gateway's live state is not ready: ${this.notReadyReason ?? '?'}`);
    return { state: this.state!, topology: this.topology! };
  }

  /** The topology document (body and ETag exactly as the engine serves them). */
  topologyDocument(): { etag: string; body: string } {
    const { topology } = this.readyParts();
    return { etag: topology.etag, body: topology.body };
  }

  clock(): ClockInfo {
    return this.readyParts().state.context.clock;
  }

  summary(): SummaryResponse {
    return this.readyParts().state.context.summary;
  }

  private stateOf(state: HeldState, doc: Topology, a: number): ActorState {
    const isAsset = a < doc.assetCount;
    return {
      id: doc.ids[a]!,
      index: a,
      role: isAsset ? 'asset' : 'cohort',
      kind: isAsset ? doc.kinds[doc.kind[a]!]! : 'cohort',
      layer: isAsset ? doc.layers[doc.layer[a]!]! : null,
      district: doc.districts[doc.district[a]!]!,
      status: WIRE_STATUS_NAMES[state.status[a]!] ?? String(state.status[a]),
      level: state.level[a]!,
      load: state.load[a]!,
      stress: state.stress[a]!,
    };
  }

  /** `GET /api/assets`: the engine's selection (http/assets-query.ts) over this copy. */
  assets(q: AssetsQuery): { total: number; offset: number; items: ActorState[] } {
    const { state, topology } = this.readyParts();
    const doc = topology.doc;
    return selectAssets(q, {
      assetCount: doc.assetCount,
      actorCount: topology.actorCount,
      layers: doc.layers,
      districts: doc.districts,
      layerOf: (a) => doc.layer[a]!,
      districtOf: (a) => doc.district[a]!,
      kindOf: (a) => (a < doc.assetCount ? doc.kinds[doc.kind[a]!]! : 'cohort'),
      statusOf: (a) => state.status[a]!,
      stateOf: (a) => this.stateOf(state, doc, a),
    });
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.reader.disconnect();
    await this.loop;
    await this.redis.quit().catch(() => undefined);
  }
}
