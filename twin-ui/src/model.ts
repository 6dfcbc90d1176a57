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
export type { Topology, Frame, Role, ClockInfo, Alert, HelloInfo, ErrorReply, ClientToServerEvents, ServerToClientEvents } from '../../gateways/protocol.ts';
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
