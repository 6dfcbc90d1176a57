/**
 * The wire protocol of Stratum Twin: the one module both the server (gateways/) and the browser
 * (twin-ui/) import. Types, `as const` code tables and pure codec functions only — no Node modules,
 * no engine imports — so the UI can bundle it as is.
 *
 * Streaming model: a client subscribes to a *view* (layers, districts, bounding box, max rate). The
 * server keeps one coalescer per distinct view; it sends a snapshot frame on subscribe, then delta
 * frames holding only the actors that changed since the previous frame (latest value wins). Frames
 * are binary and columnar (see `encodeFrame`), stamped with a per-view monotonic frame number and the
 * engine's virtual clock. Every delta names the frame it applies on top of (`since`), so a client
 * that sees `since !== lastFrame` knows it missed something and resubscribes with `since`.
 *
 * The zod schemas of every input the gateways accept from outside (section "Input schemas") live
 * here too, once: the HTTP routes, the Socket.io and ws handlers and the UI parse with the same
 * schema, so a contract is never declared twice (zod runs in the browser as well).
 */
import { z } from 'zod';

/** Bumped on any incompatible change of events, frames or topology. Sent in the handshake and in every frame. */
export const PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Code tables (mirror engine/protocol.ts; a test checks they agree)
// ---------------------------------------------------------------------------------------------

/** Actor status on the wire. Same numbers as the engine's `Status`. */
export const WireStatus = {
  Ok: 0,
  Degraded: 1,
  Failed: 2,
  Isolated: 3,
  Faulted: 4,
  Sheltering: 5,
} as const;
export type WireStatus = (typeof WireStatus)[keyof typeof WireStatus];
export const WIRE_STATUS_NAMES = ['ok', 'degraded', 'failed', 'isolated', 'faulted', 'sheltering'] as const;
export type WireStatusName = (typeof WIRE_STATUS_NAMES)[number];

/** Why an asset left service. Same numbers as the engine's `CauseCode`. */
export const WireCause = {
  None: 0,
  Damage: 1,
  Dependency: 2,
  Disconnected: 3,
  Overload: 4,
  Isolated: 5,
  Cyber: 6,
  Crash: 7,
  Telemetry: 8,
} as const;
export type WireCause = (typeof WireCause)[keyof typeof WireCause];
export const WIRE_CAUSE_NAMES = ['none', 'damage', 'dependency', 'disconnected', 'overload', 'isolated', 'cyber', 'crash', 'telemetry'] as const;

/** Frame kinds (byte 2 of every frame). */
export const FrameKind = {
  /** Every actor of the view. Replaces the client's state for the view. */
  Snapshot: 0,
  /** Only actors changed since frame `since`. */
  Delta: 1,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Roles, weakest first. Each role includes the rights of `viewer`; `admin` has every right. */
export const ROLES = ['viewer', 'operator', 'injector', 'trainer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Error codes carried in socket replies and HTTP error bodies. */
export const ErrorCode = {
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  Invalid: 'invalid',
  NotFound: 'not-found',
  Conflict: 'conflict',
  RateLimited: 'rate-limited',
  Internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

export interface BBox {
  readonly minX: number;
  readonly minY: number;
  readonly maxX: number;
  readonly maxY: number;
}

/** What a client asks to see. Every field is optional: an empty view is the whole city at 10 Hz. */
export interface ViewRequest {
  /** Layer names (assets only); absent = all layers. */
  readonly layers?: readonly string[] | undefined;
  /** District names (assets and cohorts); absent = all districts. */
  readonly districts?: readonly string[] | undefined;
  /** Metres in the city's frame; assets without a position are left out when a bbox is given. */
  readonly bbox?: BBox | undefined;
  /** Include citizen cohorts (default true). */
  readonly cohorts?: boolean | undefined;
  /** Frames per second at most, 0.2..30 (default 10). */
  readonly maxRateHz?: number | undefined;
}

/** A resume point: the epoch (server instance) and the last frame the client applied. */
export interface ResumeFrom {
  readonly epoch: string;
  readonly frame: number;
}

export interface SubscribeRequest {
  readonly view?: ViewRequest | undefined;
  /** Catch up from here if the server still has the frames; otherwise a snapshot comes. */
  readonly since?: ResumeFrom | undefined;
  /** A replay or training session's id (`GET /api/sessions`); absent = the live engine. */
  readonly session?: string | undefined;
}

export const DEFAULT_MAX_RATE_HZ = 10;
export const MIN_RATE_HZ = 0.2;
export const MAX_RATE_HZ = 30;

/** The view with defaults applied and lists sorted: equal views get the same key and share one coalescer. */
export interface NormalisedView {
  readonly layers: readonly string[] | null;
  readonly districts: readonly string[] | null;
  readonly bbox: BBox | null;
  readonly cohorts: boolean;
  readonly maxRateHz: number;
}

export function normaliseView(view: ViewRequest = {}): NormalisedView {
  const sortUnique = (list: readonly string[] | undefined): readonly string[] | null =>
    list === undefined ? null : [...new Set(list)].sort();
  const rate = view.maxRateHz ?? DEFAULT_MAX_RATE_HZ;
  return {
    layers: sortUnique(view.layers),
    districts: sortUnique(view.districts),
    bbox: view.bbox ?? null,
    cohorts: view.cohorts ?? true,
    maxRateHz: Math.min(MAX_RATE_HZ, Math.max(MIN_RATE_HZ, rate)),
  };
}

/** Canonical string key of a normalised view (the coalescer's identity). */
export function viewKey(v: NormalisedView): string {
  const b = v.bbox;
  return [
    `l=${v.layers === null ? '*' : v.layers.join(',')}`,
    `d=${v.districts === null ? '*' : v.districts.join(',')}`,
    `b=${b === null ? '*' : `${b.minX},${b.minY},${b.maxX},${b.maxY}`}`,
    `c=${v.cohorts ? 1 : 0}`,
    `r=${v.maxRateHz}`,
  ].join(';');
}

// ---------------------------------------------------------------------------------------------
// Input schemas: one per input kind, for every door (HTTP, Socket.io, ws, UI). Numbers are finite
// and inside the documented ranges; names (layers, districts, assets) are checked against the city
// by the door (gateways/door/control.ts), which knows it.
// ---------------------------------------------------------------------------------------------

/**
 * Every input command (`POST /api/inject`, the Socket.io `command` event, Kafka): the engine's own
 * journal contract, a zod-only module, re-exported here so the UI and the k6 client use it too.
 */
export { inputCommandSchema, type InputCommand } from '../engine/commands.ts';

/** Live clock speed range (virtual seconds per wall second). */
export const MIN_LIVE_SPEED = 0.01;
export const MAX_LIVE_SPEED = 100_000;
/** A share of load (shed, reroute): 0..1. */
export const shareSchema = z.number().finite().min(0).max(1).describe('share of the load, 0..1');
const assetIdSchema = z.string().min(1).max(200).describe('asset id');
const finiteCoordinate = z.number().finite();

export const viewRequestSchema = z.strictObject({
  layers: z.array(z.string().min(1).max(100)).max(64).optional(),
  districts: z.array(z.string().min(1).max(200)).max(4096).optional(),
  bbox: z.strictObject({ minX: finiteCoordinate, minY: finiteCoordinate, maxX: finiteCoordinate, maxY: finiteCoordinate }).optional(),
  cohorts: z.boolean().optional(),
  maxRateHz: z.number().min(MIN_RATE_HZ).max(MAX_RATE_HZ).optional(),
});
export const subscribeRequestSchema = z.strictObject({
  view: viewRequestSchema.optional(),
  since: z.strictObject({ epoch: z.string().min(1).max(64), frame: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }).optional(),
  session: z.string().min(1).max(100).optional(),
});
/** `POST /api/clock` and the Socket.io `clock` event. */
export const clockRequestSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('pause') }),
  z.strictObject({ action: z.literal('resume') }),
  z.strictObject({ action: z.literal('speed'), speed: z.number().min(MIN_LIVE_SPEED).max(MAX_LIVE_SPEED).describe(`virtual seconds per wall second, ${MIN_LIVE_SPEED}–${MAX_LIVE_SPEED}`) }),
]);
/**
 * `GET /api/assets` (the engine's route and a gateway's, one contract): filters, paging, and the
 * reply. Statuses are the wire names (the engine's `STATUS_NAMES`, same order).
 */
export const assetsQuerySchema = z.object({
  layer: z.string().optional(),
  district: z.string().optional(),
  status: z.enum(WIRE_STATUS_NAMES).optional(),
  kind: z.string().optional(),
  role: z.enum(['asset', 'cohort', 'all']).default('asset'),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(500),
});
export type AssetsQuery = z.infer<typeof assetsQuerySchema>;
/** One actor's live state in `GET /api/assets` and `GET /api/assets/:id`. */
export const actorStateSchema = z.object({
  id: z.string(),
  index: z.number().int(),
  role: z.enum(['asset', 'cohort']),
  kind: z.string(),
  layer: z.string().nullable(),
  district: z.string(),
  status: z.string(),
  level: z.number(),
  load: z.number(),
  stress: z.number(),
});
export type ActorState = z.infer<typeof actorStateSchema>;
export const assetsReplySchema = z.object({ total: z.number().int(), offset: z.number().int(), items: z.array(actorStateSchema) });
/** `GET /api/clock` and `POST /api/clock`'s reply (`ClockInfo`). */
export const clockInfoSchema = z.object({ virtualMs: z.number(), speed: z.number(), paused: z.boolean(), wallMs: z.number() });
/** `POST /api/assets/:id/shed`. */
export const shedBodySchema = z.strictObject({ share: shareSchema });
/** `POST /api/assets/:id/reroute`. */
export const rerouteBodySchema = z.strictObject({ to: assetIdSchema, share: shareSchema });
/** An operator action named in a body (guarded requests, trainee actions). */
export const operatorActionSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.enum(['isolate', 'restore', 'repair']), target: assetIdSchema }),
  z.strictObject({ action: z.literal('shed'), target: assetIdSchema, share: shareSchema }),
  z.strictObject({ action: z.literal('reroute'), target: assetIdSchema, to: assetIdSchema, share: shareSchema }),
]);
/** `POST /api/sessions/:id/actions/request`: a trainee's (guarded) operator action for a second person to approve. */
const requestReason = z.string().max(500).optional();
export const sessionActionRequestSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.enum(['isolate', 'restore', 'repair']), target: assetIdSchema, reason: requestReason }),
  z.strictObject({ action: z.literal('shed'), target: assetIdSchema, share: shareSchema, reason: requestReason }),
  z.strictObject({ action: z.literal('reroute'), target: assetIdSchema, to: assetIdSchema, share: shareSchema, reason: requestReason }),
]);
/** `POST /api/actions/request`: a guarded operator action for a second person to approve. */
export const actionRequestSchema = z.strictObject({
  action: z.enum(['isolate', 'restore', 'repair', 'shed']),
  target: assetIdSchema,
  share: shareSchema.optional(),
  reason: z.string().max(500).optional(),
});
/** Playback speed range of a replay or training session. */
export const SESSION_MIN_SPEED = 0.1;
export const SESSION_MAX_SPEED = 1000;
/** `POST /api/sessions/:id/clock`. Speed outside 0.1–1000 is a 409 (the session says why); not finite is a 400. */
export const sessionClockRequestSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('pause') }),
  z.strictObject({ action: z.literal('resume') }),
  z.strictObject({ action: z.literal('speed'), speed: z.number().positive().max(Number.MAX_VALUE).describe('virtual seconds per wall second, 0.1–1000 (409 outside)') }),
  z.strictObject({ action: z.literal('seek'), toMs: z.number().min(0).max(Number.MAX_SAFE_INTEGER).describe('virtual ms from the start of the recording (409 beyond its end)') }),
]);

// ---------------------------------------------------------------------------------------------
// Socket.io events
// ---------------------------------------------------------------------------------------------

export interface ErrorReply {
  readonly ok: false;
  readonly code: ErrorCode;
  readonly message: string;
  /** Field-level problems for `invalid`: JSON path and reason. */
  readonly problems?: readonly { readonly path: string; readonly reason: string }[];
}

export interface SubscribeAck {
  readonly ok: true;
  /** Identity of this view's frame sequence: send it back with the last frame in `since` to resume. */
  readonly epoch: string;
  readonly viewKey: string;
  /** Number of actors in the view. */
  readonly actors: number;
  /** `snapshot`: a snapshot frame follows; `catch-up`: one delta from `since.frame` follows. */
  readonly mode: 'snapshot' | 'catch-up';
  /** The session the frames come from; absent = the live engine. */
  readonly session?: string | undefined;
}

export interface CommandAck {
  readonly ok: true;
  /** Journal sequence number and virtual time (ms) of the accepted input. */
  readonly seq: number;
  readonly time: number;
}

export interface ClockInfo {
  /** Engine virtual time, ms. */
  readonly virtualMs: number;
  readonly speed: number;
  readonly paused: boolean;
  /** Server wall clock, ms since the epoch (for latency display only). */
  readonly wallMs: number;
}

export interface ClockRequest {
  readonly action: 'pause' | 'resume' | 'speed';
  /** For `speed`: virtual seconds per wall second, > 0. */
  readonly speed?: number;
}

/** An asset entered `failed` (or `faulted`). */
export interface Alert {
  readonly time: number;
  readonly actor: number;
  readonly id: string;
  readonly layer: string;
  readonly status: WireStatusName;
  readonly cause: string;
  /** Id of the actor whose message caused it, or `input`. */
  readonly causedBy: string;
  /** A sentence for the operator when the alert is not a status change (telemetry: at risk, untrusted). */
  readonly detail?: string;
  /** Virtual seconds left before what the alert forecasts (a water tank running dry). */
  readonly secondsLeft?: number;
}

export interface HelloInfo {
  readonly protocol: number;
  readonly epoch: string;
  readonly role: Role;
  readonly name: string;
  readonly topologyEtag: string;
}

export interface ClientToServerEvents {
  /** Start (or replace) this socket's view. The ack comes before the first frame. */
  subscribe: (request: SubscribeRequest, ack: (reply: SubscribeAck | ErrorReply) => void) => void;
  unsubscribe: (ack?: (reply: { ok: true }) => void) => void;
  /** Submit an input command (role injector or admin; operator for operator actions). */
  command: (command: unknown, ack: (reply: CommandAck | ErrorReply) => void) => void;
  /** Clock control (role trainer or admin). */
  clock: (request: ClockRequest, ack: (reply: { ok: true; clock: ClockInfo } | ErrorReply) => void) => void;
}

export interface ServerToClientEvents {
  hello: (info: HelloInfo) => void;
  /** A binary frame (`decodeFrame`). Node clients get a Buffer, browsers an ArrayBuffer. */
  frame: (bytes: ArrayBuffer | Uint8Array) => void;
  alerts: (alerts: readonly Alert[]) => void;
  /** The live engine's clock (1 Hz and after each change), whatever the socket subscribed to. */
  clock: (clock: ClockInfo) => void;
  problem: (error: ErrorReply) => void;
  /** The clock of the session this socket watches (1 Hz, and at once after pause/resume/speed/seek/handover). */
  sessionClock: (clock: SessionClockInfo) => void;
  /** Assets that failed in the session this socket watches. */
  sessionAlerts: (alerts: SessionAlerts) => void;
  /**
   * The server moved this socket's subscription to a new frame sequence (a session's backward seek
   * rebuilt its engine): a snapshot follows; resume with this ack's `epoch` from now on.
   */
  resubscribed: (ack: SubscribeAck) => void;
  /** The session this socket watched is gone (deleted, idle, server closing); no more frames come. */
  sessionClosed: (info: SessionClosedInfo) => void;
  /**
   * The live run summary (`GET /api/summary`'s body), on connect and every 2 s while it changes, to
   * sockets that asked for it in the handshake (`auth.summary`) and watch the live engine: a page
   * needs no polling for its headline.
   */
  summary: (summary: LiveSummary) => void;
  /** The replay and training sessions on this server (`GET /api/sessions`), on connect and when the list changes. */
  sessions: (sessions: readonly SessionInfo[]) => void;
  /** After each run of the live state estimator (STRATUM_ESTIMATION=1): what changed; details at `GET /api/estimation`. */
  estimation: (run: EstimationEvent) => void;
}

/** The `estimation` event: one run of the live estimator (virtual ms), its islands' verdicts and the sensors left out as bad data. */
export interface EstimationEvent {
  readonly runs: number;
  readonly lastRunMs: number | null;
  readonly islands: number;
  readonly consistent: boolean;
  readonly unobservable: number;
  readonly excluded: readonly string[];
}

/** What every viewer reads of the live run summary; the full object is `GET /api/summary`'s (see the OpenAPI document). */
export interface LiveSummary {
  readonly failed: number;
  readonly degraded: number;
  readonly simulatedSeconds: number;
  readonly peopleWithoutNow: { readonly power: number; readonly water: number; readonly telecom: number };
  readonly cost: { readonly currency: string; readonly total: number; readonly assets: number; readonly people: number; readonly perHour: number };
}

export type InterServerEvents = Record<string, never>;

export interface SocketData {
  name: string;
  role: Role;
  tokenHash: string;
}

/** Socket.io handshake auth: `io(url, { auth: { token } })`. */
export interface HandshakeAuth {
  readonly token: string;
  readonly protocol?: number;
  /** Push the live run summary (`summary` event) to this socket; the UI sets it for its headline. */
  readonly summary?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Sessions: replays and training exercises hosted beside the live engine (`/api/sessions`)
// ---------------------------------------------------------------------------------------------

export const SESSION_KINDS = ['replay', 'training'] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];
/** `replaying` until the handover (training) or the end (replay); `finished`: a replay at its end, a scored exercise. */
export const SESSION_PHASES = ['replaying', 'handed-over', 'finished'] as const;
export type SessionPhase = (typeof SESSION_PHASES)[number];
/** Playback speed bounds (virtual seconds per wall second). */
export interface SessionClock {
  /** The session engine's virtual time, ms from the start of the recording. */
  readonly nowMs: number;
  /** The end of the recording, ms. */
  readonly endMs: number;
  readonly speed: number;
  /** True when not playing (paused, or stopped at the end). */
  readonly paused: boolean;
}

/** `GET /api/sessions` items. */
export interface SessionInfo {
  readonly id: string;
  readonly kind: SessionKind;
  /** Recording id. */
  readonly recording: string;
  /** Name of the trainer (token) who started it. */
  readonly createdBy: string;
  readonly phase: SessionPhase;
  readonly clock: SessionClock;
  /** Training: when control passes to the trainees, ms. */
  readonly handoverMs?: number | undefined;
  /** Sockets subscribed to the session's frames. */
  readonly viewers: number;
  /** Why playback stopped, when an advance failed. */
  readonly error?: string | undefined;
}

/** The `sessionClock` event (ws: `session-clock`). */
export interface SessionClockInfo extends SessionClock {
  readonly session: string;
  readonly phase: SessionPhase;
}

export interface SessionAlerts {
  readonly session: string;
  readonly alerts: readonly Alert[];
}

export interface SessionClosedInfo {
  readonly session: string;
  readonly reason: 'deleted' | 'idle' | 'server-closing';
}

/** Body of `POST /api/sessions/:id/clock`. */
export interface SessionClockRequest {
  readonly action: 'pause' | 'resume' | 'speed' | 'seek';
  /** For `speed` (0.1–1000). */
  readonly speed?: number;
  /** For `seek`: virtual ms from the start of the recording, 0–endMs. */
  readonly toMs?: number;
}

/** An operator's or a trainee's decision on a training timeline. */
export interface SessionDecision {
  readonly timeMs: number;
  /** The journal source: `session:<id>:<name>` for trainees, the recorded source otherwise. */
  readonly who: string;
  readonly command: { readonly type: string; readonly target: string; readonly [field: string]: unknown };
}

export interface SessionOutcome {
  readonly fromMs: number;
  readonly toMs: number;
  readonly peopleHoursWithout: { readonly power: number; readonly water: number; readonly telecom: number };
  readonly hospitalHoursDegraded: number;
  readonly assetOutageHours: Readonly<Record<string, number>>;
  readonly cost: { readonly currency: string; readonly assets: number; readonly people: number; readonly total: number };
}

/** Reply of `POST /api/sessions/:id/finish`. */
export interface SessionScore {
  /** 0–100: 50 = as the recorded operators did, 100 = no cost at all. */
  readonly score: number;
  readonly metrics: {
    readonly recorded: SessionOutcome;
    readonly trainee: SessionOutcome;
    /** Trainee minus recorded (negative is better). */
    readonly delta: { readonly peopleHoursWithout: Readonly<Record<string, number>>; readonly hospitalHoursDegraded: number; readonly cost: number };
  };
  readonly traineeDecisions: readonly SessionDecision[];
  readonly recordedDecisions: readonly SessionDecision[];
}

// ---------------------------------------------------------------------------------------------
// Raw ws endpoint (`/ws?token=…&layers=…&districts=…&maxRateHz=…&epoch=…&since=…`)
// Binary messages are frames; text messages are JSON of these unions.
// ---------------------------------------------------------------------------------------------

export type WsServerMessage =
  | ({ readonly type: 'hello' } & HelloInfo)
  /** Also sent unasked when the server moves the subscription (a session's backward seek). */
  | ({ readonly type: 'subscribed' } & SubscribeAck)
  | { readonly type: 'alerts'; readonly alerts: readonly Alert[] }
  | ({ readonly type: 'clock' } & ClockInfo)
  | ({ readonly type: 'error' } & ErrorReply)
  | ({ readonly type: 'session-clock' } & SessionClockInfo)
  | ({ readonly type: 'session-alerts' } & SessionAlerts)
  | ({ readonly type: 'session-closed' } & SessionClosedInfo);

export type WsClientMessage = { readonly type: 'subscribe' } & SubscribeRequest;

// ---------------------------------------------------------------------------------------------
// Topology (GET /api/topology): static, cacheable (ETag), columnar JSON
// ---------------------------------------------------------------------------------------------

/**
 * The city as the UI needs it. Actor indices: assets `[0, assetCount)`, then cohorts. Frames carry
 * these indices, so `ids[frame.actors[i]]` is the id.
 */
export interface Topology {
  readonly protocol: number;
  readonly name: string;
  readonly cityHash: string;
  readonly assetCount: number;
  readonly cohortCount: number;
  readonly layers: readonly string[];
  readonly districts: readonly string[];
  readonly kinds: readonly string[];
  /** Asset ids then cohort ids, by actor index. */
  readonly ids: readonly string[];
  /** Per asset: index into `kinds`. */
  readonly kind: readonly number[];
  /** Per asset: index into `layers`. */
  readonly layer: readonly number[];
  /** Per actor (assets and cohorts): index into `districts`. */
  readonly district: readonly number[];
  /** Per actor: x, y, z (metres) flattened; `null` triples when the city gave no position. */
  readonly positions: readonly (number | null)[];
  /** Per asset: capacity in load units (`null` = unlimited). */
  readonly capacity: readonly (number | null)[];
  /** Per asset: 1 when it is a source of its layer. */
  readonly source: readonly number[];
  /** Physical links: pairs of asset indices flattened [a0, b0, a1, b1, …]. */
  readonly links: readonly number[];
  /** Dependencies: pairs [provider, dependent] of asset indices, flattened. */
  readonly dependencies: readonly number[];
  /** Per dependency: strength 0..1. */
  readonly dependencyStrength: readonly number[];
  /** Per cohort: population. */
  readonly population: readonly number[];
  /** Which assets each cohort relies on: [cohortNumber, assetIndex] pairs, flattened (always sent; optional for older servers). */
  readonly reliance?: readonly number[];
  /** The real place behind an imported city (OpenStreetMap): absent for synthetic cities. */
  readonly geography?: TopologyGeography;
}

/**
 * Footprints, streets and district outlines in the frame of `positions` (metres, x east, y north),
 * rounded to 0.1 m. Shapes are packed: shape k's points are pairs `start[k] … start[k+1]−1` of `xy`.
 */
export interface TopologyGeography {
  /** Shown wherever the place is shown, e.g. "© OpenStreetMap contributors". */
  readonly attribution: string;
  readonly licence: string;
  /** `[lon, lat]` of the frame's origin (x = y = 0). */
  readonly origin: readonly [number, number];
  readonly buildingXY: readonly number[];
  readonly buildingStart: readonly number[];
  /** Per building: height in metres. */
  readonly buildingHeight: readonly number[];
  /** Per building: the cohort number (0-based, as in `reliance`) whose people live there; -1 none. */
  readonly buildingCohort: readonly number[];
  readonly streetClasses: readonly string[];
  readonly streetXY: readonly number[];
  readonly streetStart: readonly number[];
  /** Per street: index into `streetClasses`. */
  readonly streetClass: readonly number[];
  readonly districtXY: readonly number[];
  readonly districtStart: readonly number[];
  /** Per outline: index into `districts`; and its display name. */
  readonly districtIndex: readonly number[];
  readonly districtName: readonly string[];
  /** Parks and grass (class 0) and water (class 1) on the ground, packed like the rest. */
  readonly areaXY: readonly number[];
  readonly areaStart: readonly number[];
  readonly areaClass: readonly number[];
}

// ---------------------------------------------------------------------------------------------
// Frames and their binary codec
// ---------------------------------------------------------------------------------------------

/** Decoded frame: columnar typed arrays, ready to copy into instanced buffers. */
export interface Frame {
  readonly kind: FrameKind;
  readonly version: number;
  /** Per-view monotonic frame number (from 1). */
  readonly frame: number;
  /** The frame this one applies on top of (0 for a snapshot). A merged or catch-up delta spans several. */
  readonly since: number;
  /** Engine virtual time in ms when the frame was cut. */
  readonly clock: number;
  /** Actor indices, ascending. */
  readonly actors: Uint32Array;
  readonly status: Uint8Array;
  /** Service level 0..1, quantised to 1/255. */
  readonly level: Float32Array;
  /** Load in load units (float32). */
  readonly load: Float32Array;
  /** Stress 0..2.55, quantised to 1/100 (values above 2.55 saturate). */
  readonly stress: Float32Array;
}

/** What the encoder needs: parallel columns (plain arrays or typed arrays), any actor order. */
export interface FrameInput {
  readonly kind: FrameKind;
  readonly frame: number;
  readonly since: number;
  readonly clock: number;
  readonly actors: ArrayLike<number>;
  readonly status: ArrayLike<number>;
  readonly level: ArrayLike<number>;
  readonly load: ArrayLike<number>;
  readonly stress: ArrayLike<number>;
}

/** First byte of every frame ('S'). */
export const FRAME_MAGIC = 0x53;
/** Fixed header: magic, version, kind, flags, clock f64. Then varints frame, since, count. */
export const FRAME_FIXED_HEADER_BYTES = 12;

const STRESS_SCALE = 100;

export function quantiseLevel(level: number): number {
  if (!(level > 0)) return 0;
  return level >= 1 ? 255 : Math.round(level * 255);
}
export function quantiseStress(stress: number): number {
  if (!(stress > 0)) return 0;
  return Math.min(255, Math.round(stress * STRESS_SCALE));
}

/** Bytes a varint of `value` takes. */
export function varintSize(value: number): number {
  let n = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

function writeVarint(out: Uint8Array, offset: number, value: number): number {
  while (value >= 128) {
    out[offset++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  out[offset++] = value;
  return offset;
}

/**
 * Encodes a frame. Layout (little-endian):
 *
 * | bytes | field |
 * |---|---|
 * | 1 | magic 0x53 |
 * | 1 | protocol version |
 * | 1 | kind (FrameKind) |
 * | 1 | flags (0) |
 * | 8 | clock, f64 virtual ms |
 * | varint | frame number |
 * | varint | since (frame applied on top of) |
 * | varint | count n |
 * | n varints | actor indices, delta-coded (first absolute, then the gap to the previous) |
 * | n | status u8 |
 * | n | level u8 (×255) |
 * | n | stress u8 (×100, saturating) |
 * | 4n | load f32 |
 *
 * About 8–9 bytes per actor plus ~18 bytes per frame.
 *
 * @example
 * const bytes = encodeFrame({ kind: FrameKind.Delta, frame: 7, since: 6, clock: 60_000,
 *   actors: [3, 10], status: [2, 0], level: [0, 1], load: [0, 12.5], stress: [0, 0.4] });
 * decodeFrame(bytes).actors; // Uint32Array [3, 10]
 */
export function encodeFrame(input: FrameInput): Uint8Array {
  const n = input.actors.length;
  let order: number[] | null = null;
  for (let i = 1; i < n; i++) {
    if (input.actors[i]! <= input.actors[i - 1]!) {
      order = Array.from({ length: n }, (_, k) => k).sort((a, b) => input.actors[a]! - input.actors[b]!);
      break;
    }
  }
  const at = (i: number): number => (order === null ? i : order[i]!);
  let actorBytes = 0;
  let previous = 0;
  for (let i = 0; i < n; i++) {
    const actor = input.actors[at(i)]!;
    if (i > 0 && actor === previous) throw new RangeError(`encodeFrame: actor ${actor} appears twice`);
    actorBytes += varintSize(i === 0 ? actor : actor - previous);
    previous = actor;
  }
  const size = FRAME_FIXED_HEADER_BYTES + varintSize(input.frame) + varintSize(input.since) + varintSize(n) + actorBytes + 7 * n;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[0] = FRAME_MAGIC;
  out[1] = PROTOCOL_VERSION;
  out[2] = input.kind;
  out[3] = 0;
  dv.setFloat64(4, input.clock, true);
  let o = FRAME_FIXED_HEADER_BYTES;
  o = writeVarint(out, o, input.frame);
  o = writeVarint(out, o, input.since);
  o = writeVarint(out, o, n);
  previous = 0;
  for (let i = 0; i < n; i++) {
    const actor = input.actors[at(i)]!;
    o = writeVarint(out, o, i === 0 ? actor : actor - previous);
    previous = actor;
  }
  for (let i = 0; i < n; i++) out[o + i] = input.status[at(i)]!;
  o += n;
  for (let i = 0; i < n; i++) out[o + i] = quantiseLevel(input.level[at(i)]!);
  o += n;
  for (let i = 0; i < n; i++) out[o + i] = quantiseStress(input.stress[at(i)]!);
  o += n;
  for (let i = 0; i < n; i++) dv.setFloat32(o + 4 * i, input.load[at(i)]!, true);
  return out;
}

/** Thrown by `decodeFrame` on bytes that are not a frame of this protocol version. */
export class FrameDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameDecodeError';
  }
}

/** Decodes bytes made by `encodeFrame` (Uint8Array, Node Buffer or ArrayBuffer). */
export function decodeFrame(data: Uint8Array | ArrayBuffer): Frame {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.length < FRAME_FIXED_HEADER_BYTES || bytes[0] !== FRAME_MAGIC) throw new FrameDecodeError('not a Stratum frame (bad magic or too short)');
  const version = bytes[1]!;
  if (version !== PROTOCOL_VERSION) throw new FrameDecodeError(`frame protocol version ${version}, expected ${PROTOCOL_VERSION}`);
  const kind = bytes[2]!;
  if (kind !== FrameKind.Snapshot && kind !== FrameKind.Delta) throw new FrameDecodeError(`unknown frame kind ${kind}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const clock = dv.getFloat64(4, true);
  let o = FRAME_FIXED_HEADER_BYTES;
  const readVarint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (o >= bytes.length) throw new FrameDecodeError('truncated frame (varint)');
      const b = bytes[o++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
  };
  const frame = readVarint();
  const since = readVarint();
  const n = readVarint();
  const actors = new Uint32Array(n);
  let previous = 0;
  for (let i = 0; i < n; i++) {
    previous = i === 0 ? readVarint() : previous + readVarint();
    actors[i] = previous;
  }
  if (o + 7 * n > bytes.length) throw new FrameDecodeError(`truncated frame: ${n} actors need ${7 * n} column bytes, ${bytes.length - o} left`);
  const status = bytes.slice(o, o + n);
  o += n;
  const level = new Float32Array(n);
  for (let i = 0; i < n; i++) level[i] = bytes[o + i]! / 255;
  o += n;
  const stress = new Float32Array(n);
  for (let i = 0; i < n; i++) stress[i] = bytes[o + i]! / STRESS_SCALE;
  o += n;
  const load = new Float32Array(n);
  for (let i = 0; i < n; i++) load[i] = dv.getFloat32(o + 4 * i, true);
  return { kind: kind as FrameKind, version, frame, since, clock, actors, status, level, load, stress };
}

/** Reads only the header (kind, frame, since, clock, count) without decoding the columns. */
export function peekFrameHeader(data: Uint8Array | ArrayBuffer): { kind: FrameKind; frame: number; since: number; clock: number; count: number } {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.length < FRAME_FIXED_HEADER_BYTES || bytes[0] !== FRAME_MAGIC) throw new FrameDecodeError('not a Stratum frame');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = FRAME_FIXED_HEADER_BYTES;
  const readVarint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[o++];
      if (b === undefined) throw new FrameDecodeError('truncated frame header');
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
  };
  const frame = readVarint();
  const since = readVarint();
  const count = readVarint();
  return { kind: bytes[2]! as FrameKind, frame, since, clock: dv.getFloat64(4, true), count };
}

/**
 * Client-side helper: applies a decoded frame to dense per-actor arrays (length = actor count).
 * Returns false when a delta does not follow the last applied frame (a gap: resubscribe with `since`).
 *
 * @example
 * const state = createViewState(topology.ids.length);
 * socket.on('frame', (bytes) => { if (!applyFrame(state, decodeFrame(bytes))) resubscribe(state.frame); });
 */
export interface ViewState {
  frame: number;
  clock: number;
  readonly status: Uint8Array;
  readonly level: Float32Array;
  readonly load: Float32Array;
  readonly stress: Float32Array;
}

export function createViewState(actorCount: number): ViewState {
  return { frame: 0, clock: 0, status: new Uint8Array(actorCount), level: new Float32Array(actorCount), load: new Float32Array(actorCount), stress: new Float32Array(actorCount) };
}

/** Per-actor columns (status, level, load, stress) in any numeric precision. */
export interface ActorColumns {
  readonly status: { [i: number]: number; readonly length: number };
  readonly level: { [i: number]: number };
  readonly load: { [i: number]: number };
  readonly stress: { [i: number]: number };
}

/**
 * Writes the rows of `changes` (row i is actor `actors[i]`) into the per-actor `state` columns,
 * skipping actors beyond them: a frame into a view, a gateway's exact state entry into its held state.
 */
export function applyActorColumns(state: ActorColumns, actors: ArrayLike<number>, changes: ActorColumns): void {
  for (let i = 0; i < actors.length; i++) {
    const a = actors[i]!;
    if (a >= state.status.length) continue;
    state.status[a] = changes.status[i]!;
    state.level[a] = changes.level[i]!;
    state.load[a] = changes.load[i]!;
    state.stress[a] = changes.stress[i]!;
  }
}

export function applyFrame(state: ViewState, frame: Frame): boolean {
  if (frame.kind === FrameKind.Delta && frame.since !== state.frame) return false;
  applyActorColumns(state, frame.actors, frame);
  state.frame = frame.frame;
  state.clock = frame.clock;
  return true;
}

// ---------------------------------------------------------------------------------------------
// The live grid (gateways/grid-routes.ts): DC flows and N-1, polled over HTTP with ETags
// ---------------------------------------------------------------------------------------------
//
// Flow direction is not in the frames: a branch's frame `load` stays |MW| (and `stress` its
// loading, |flow| ÷ rating), so every client and the history keep one meaning of load. The sign
// is in `GET /api/grid` (`GridBranchRow.flowMw`, positive from → to), which a client polls with
// If-None-Match (304 until the power layer changed). Directions change far less often than
// magnitudes, so a poll every couple of seconds draws the arrows right; the colours follow the frames.

export interface GridBranchRow {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  /** Signed flow at the from end, MW: positive from → to. */
  readonly flowMw: number;
  /** null: unlimited (RATE_A 0). */
  readonly ratingMw: number | null;
  /** |flow| / rating × 100 (null when unlimited). */
  readonly loadingPct: number | null;
  readonly inService: boolean;
  readonly tripped: boolean;
}

export interface GridReply {
  readonly version: number;
  readonly clock: number;
  readonly branches: GridBranchRow[];
  /** With the live voltage monitor on: each bus's last AC voltage (`vmPu`, `vaDeg`) and `violation`. */
  readonly buses: Array<{ id: string; loadMw: number; generationMw: number } & Partial<BusVoltageRow>>;
  readonly generators: Array<{ id: string; bus: string; outputMw: number; scheduleMw: number; inService: boolean }>;
  readonly totalLoadMw: number;
  readonly totalGenerationMw: number;
  readonly shedMw: number;
  /** The live voltage monitor's last run (absent when it is off: STRATUM_VOLTAGE_MONITOR). */
  readonly voltage?: VoltageMonitorSummary;
}

/** A bus's voltage from the live voltage monitor's last AC run. */
export interface BusVoltageRow {
  /** |V| in pu and angle in degrees; 0 on a dead bus (an island without generation) and after a collapse. */
  readonly vmPu: number;
  readonly vaDeg: number;
  /** Outside [Vmin, Vmax] (`under`, `over`), or in the island of a run that did not converge (`collapse`); null inside or dead. */
  readonly violation: 'under' | 'over' | 'collapse' | null;
}

export interface VoltageMonitorSummary {
  readonly enabled: true;
  readonly runs: number;
  /** Runs that did not converge (read as voltage collapse). */
  readonly collapses: number;
  /** `voltage` inputs sent through the door. */
  readonly inputs: number;
  /** Virtual ms of the state of the last run (null: none yet). */
  readonly lastRunClock: number | null;
  readonly converged: boolean | null;
  readonly iterations: number;
  readonly seconds: number;
  readonly collapse: { readonly message: string; readonly maxMismatchPu: number; readonly bus: string | null; readonly buses: number } | null;
  /** Buses outside their limits at the last run; `limitPu` the limit crossed (Vmin for under and collapse). */
  readonly violations: ReadonlyArray<{ readonly bus: string; readonly vmPu: number; readonly kind: 'under' | 'over' | 'collapse'; readonly limitPu: number }>;
}

export interface ContingencyRow {
  readonly outage: string;
  readonly kind: 'branch' | 'generator';
  readonly maxLoadingPct: number;
  readonly lostLoadMw: number;
  readonly overloads: Array<{ id: string; loadingPct: number; flowMw: number; ratingMw: number }>;
}

export interface ContingencyReply {
  readonly version: number;
  /** Virtual ms of the state screened. */
  readonly clock: number;
  /** The grid changed since this was computed (a recompute is pending). */
  readonly stale: boolean;
  readonly method: 'lodf';
  readonly screened: number;
  /** Outages with at least one overload. */
  readonly insecure: number;
  readonly seconds: number;
  /** Worst first (largest post-contingency loading), at most `limit`. */
  readonly rows: ContingencyRow[];
}

