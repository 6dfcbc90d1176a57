/**
 * Gateways: every edge of Stratum Twin to the outside. The public surface: the composition root and
 * the wire protocol (the browser imports `protocol.ts` directly; it must not import this file).
 */
export { ListenError, startServer, startServerWith } from './server.ts';
export type { StartServerOptions, RunningServer, ServerTuning, ServerInternals } from './server.ts';
export { startGateway, GatewayConfigError } from './gateway-server.ts';
export type { GatewayOptions, RunningGateway } from './gateway-server.ts';
export {
  PROTOCOL_VERSION,
  WireStatus,
  WIRE_STATUS_NAMES,
  WireCause,
  WIRE_CAUSE_NAMES,
  FrameKind,
  ROLES,
  ErrorCode,
  DEFAULT_MAX_RATE_HZ,
  MIN_RATE_HZ,
  MAX_RATE_HZ,
  FRAME_MAGIC,
  normaliseView,
  viewKey,
  encodeFrame,
  decodeFrame,
  peekFrameHeader,
  FrameDecodeError,
  createViewState,
  applyFrame,
  quantiseLevel,
  quantiseStress,
  SESSION_KINDS,
  SESSION_PHASES,
  SESSION_MIN_SPEED,
  SESSION_MAX_SPEED,
  MIN_LIVE_SPEED,
  MAX_LIVE_SPEED,
  shareSchema,
  viewRequestSchema,
  subscribeRequestSchema,
  clockRequestSchema,
  shedBodySchema,
  rerouteBodySchema,
  operatorActionSchema,
  actionRequestSchema,
  sessionClockRequestSchema,
} from './protocol.ts';
export type {
  Role,
  BBox,
  ViewRequest,
  NormalisedView,
  ResumeFrom,
  SubscribeRequest,
  SubscribeAck,
  ErrorReply,
  CommandAck,
  ClockInfo,
  ClockRequest,
  Alert,
  HelloInfo,
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData,
  HandshakeAuth,
  WsServerMessage,
  WsClientMessage,
  Topology,
  Frame,
  FrameInput,
  ViewState,
  SessionKind,
  SessionPhase,
  SessionClock,
  SessionInfo,
  SessionClockInfo,
  SessionAlerts,
  SessionClosedInfo,
  SessionClockRequest,
  SessionDecision,
  SessionOutcome,
  SessionScore,
} from './protocol.ts';
export { SessionManager, fileRecordings, sessionScore } from './sessions/index.ts';
export type { RecordingSource, SessionEvent, SessionManagerOptions, CreateSessionRequest, TraineeAction, SessionDetail, SessionSummary } from './sessions/index.ts';
export { TokenStore, RIGHTS, hashToken, tokensFromEnvironment, AuditLog, Control, DEFAULT_DOOR_LIMITS, doorLimitsFromEnv, admitBatch, isOperatorCommand, OPERATOR_ACTIONS, ScenarioExpander } from './door/index.ts';
export type { Principal, Right, AuditEntry, AnonymousAudit, DoorLimits, GuardPolicy, IngestDoor, OperatorAction } from './door/index.ts';
export { StreamHub, ViewCoalescer, Subscriber } from './stream/index.ts';
export type { FrameSink, StreamStats } from './stream/index.ts';
export { neighbours, closure, shortestPath } from './http/index.ts';
