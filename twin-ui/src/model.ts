/**
 * The UI's view of the wire protocol: types and pure codec functions come from
 * `gateways/protocol.ts` (the only server module the browser may import, and only its pure parts).
 */
export {
  WireStatus as Status,
  WIRE_STATUS_NAMES as STATUS_NAMES,
  FrameKind,
  decodeFrame,
  PROTOCOL_VERSION,
  ROLES,
} from '../../gateways/protocol.ts';
export type { Topology, Frame, Role, ClockInfo, Alert, HelloInfo, ErrorReply, ClientToServerEvents, ServerToClientEvents, SubscribeRequest } from '../../gateways/protocol.ts';
import type { FrameInput, Role } from '../../gateways/protocol.ts';

/**
 * What the store needs from a frame: the decoded `Frame` fits, and so does data a test builds.
 * `since` is the frame this delta applies on top of (snapshots: 0).
 */
export type FrameColumns = Omit<FrameInput, 'kind'> & { readonly kind: number };

/**
 * Optional extension of the topology: which assets each cohort relies on, as flattened
 * [cohortNumber, assetIndex] pairs. Without it, "people without power" is estimated per district.
 */
export interface RelianceExtension {
  readonly reliance?: readonly number[];
}

export function mayInject(role: Role | null): boolean {
  return role === 'injector' || role === 'trainer' || role === 'admin';
}

export function mayOperate(role: Role | null): boolean {
  return role === 'operator' || role === 'admin';
}

export function mayControlClock(role: Role | null): boolean {
  return role === 'trainer' || role === 'admin';
}

/** Roles that may start, drive and finish replay and training sessions. */
export function mayTrain(role: Role | null): boolean {
  return role === 'trainer' || role === 'admin';
}

/**
 * A replay or training session on the server (`GET /api/sessions`). Declared here until the
 * server's protocol module exports it; the shapes follow the session API contract.
 */
export interface SessionInfo {
  readonly id: string;
  readonly kind: 'replay' | 'training';
  readonly recording: string;
  readonly createdBy: string;
  readonly phase: 'replaying' | 'handed-over' | 'finished';
  readonly clock: { readonly nowMs: number; readonly endMs: number; readonly speed: number; readonly paused: boolean };
  readonly handoverMs?: number;
}

/**
 * What the headline reads from `GET /api/summary` (and a session's summary): the outage cost so far
 * and its rate now. Declared here because gateways/summary.ts is server code (zod, engine).
 */
export interface ServerSummary {
  readonly cost?: { readonly currency: string; readonly total: number; readonly perHour?: number };
}

export interface RecordingInfo {
  readonly id: string;
  readonly title?: string;
  readonly createdAt?: string;
  readonly untilMs: number;
  readonly inputs?: number;
}

export interface Decision {
  readonly timeMs: number;
  readonly who: string;
  readonly command: { readonly type: string; readonly target?: string } & Record<string, unknown>;
}

/** One run's outcome (people-hours without each service, hospital-hours, cost). */
export interface OutcomeInfo {
  readonly peopleHoursWithout: Readonly<Record<string, number>>;
  readonly hospitalHoursDegraded: number;
  readonly cost: { readonly total: number; readonly currency?: string } | number;
}

/** `POST /api/sessions/:id/finish`. */
export interface FinishReport {
  readonly score: number;
  readonly metrics: {
    readonly recorded: OutcomeInfo;
    readonly trainee: OutcomeInfo;
    readonly delta: { readonly peopleHoursWithout: Readonly<Record<string, number>>; readonly hospitalHoursDegraded: number; readonly cost: number };
  };
  readonly traineeDecisions: readonly Decision[];
  readonly recordedDecisions: readonly Decision[];
}

export type OperatorAction = 'isolate' | 'restore' | 'repair' | 'shed' | 'reroute';
