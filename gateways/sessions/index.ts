/** Replay and training sessions beside the live engine, and their `/api/sessions` routes. */
export { SessionManager, fileRecordings, firstOf, sessionScore } from './sessions.ts';
export type { CreateSessionRequest, RecordingSource, SessionDetail, SessionEvent, SessionManagerOptions, SessionSummary, TraineeAction } from './sessions.ts';
export { registerSessionRoutes } from './session-routes.ts';
export { SessionApprovals, registerSessionApprovalRoutes } from './session-guard.ts';
