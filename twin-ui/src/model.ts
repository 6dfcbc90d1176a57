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
  SESSION_MIN_SPEED,
  SESSION_MAX_SPEED,
  // The server's own input schemas: the UI checks what it sends with the same contract.
  clockRequestSchema,
  sessionClockRequestSchema,
} from '../../gateways/protocol.ts';
// One-message binary frames over Socket.io (gateways/frame-bundle.ts: browser-safe, socket.io-parser only).
export { bundleParser, FRAMES_BUNDLE } from '../../gateways/frame-bundle.ts';
export type { Topology, TopologyGeography, Frame, Role, ClockInfo, Alert, HelloInfo, ErrorReply, ClientToServerEvents, ServerToClientEvents, SubscribeRequest, SessionInfo, SessionClockInfo, SessionClockRequest, SessionScore, SessionDecision, SessionOutcome, GridReply, GridBranchRow, ContingencyReply, ContingencyRow } from '../../gateways/protocol.ts';
import type { FrameInput, Role, SessionKind } from '../../gateways/protocol.ts';

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
 * What the headline reads from `GET /api/summary` (and a session's summary): the outage cost so far
 * and its rate now. Declared here because gateways/http/summary.ts is server code (zod, engine).
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

export type OperatorAction = 'isolate' | 'restore' | 'repair' | 'shed' | 'reroute';

/** `POST /api/sessions` body. */
export interface CreateSessionRequest {
  readonly recording: string;
  readonly kind: SessionKind;
  readonly speed?: number;
  readonly paused?: boolean;
  readonly handoverMs?: number;
}
