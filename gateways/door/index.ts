/** The one door and what guards it: `Control` (every input from outside reaches the engine here), tokens and rights, the audit trail, edge errors, scenario expansion off the event loop, and the data directory (journal, ledger, checkpoint). */
export { AuditLog } from './audit.ts';
export type { AnonymousAudit, AuditEntry } from './audit.ts';
export { Control, DEFAULT_DOOR_LIMITS, OPERATOR_ACTIONS, admitBatch, doorLimitsFromEnv, isOperatorCommand } from './control.ts';
export type { DoorLimits, GuardPolicy, IngestDoor, OperatorAction } from './control.ts';
export { ForbiddenError, GatewayError, InvalidError, NotFoundError, UnauthorizedError, errorBody, errorResponses, toReply } from './errors.ts';
export { RIGHTS, TOKEN_NAME, TokenConfigError, TokenStore, bearer, can, configuredTokens, hashToken, newTokenLine, redactTokens, tokensFromEnvironment } from './auth.ts';
export type { Principal, Right } from './auth.ts';
export { ScenarioExpander } from './expander.ts';
export { checkpointWriter, openDataDir, openLedger, registerDurability } from './durability.ts';
export type { RecoveryState } from './durability.ts';
export { DEFAULT_SNAPSHOT_SETTINGS, SnapshotKeeper, readSnapshotCompanion, restoreNewestSnapshot, snapshotSettings, snapshotsDir } from './snapshots.ts';
export type { SnapshotCompanion, SnapshotSettings, SnapshotStart, SnapshotTaken } from './snapshots.ts';
export { WhatIfRunner } from './whatif-runner.ts';
export { WorkerJobs, replyOf } from './worker-jobs.ts';
export type { WorkerReply } from './worker-jobs.ts';
