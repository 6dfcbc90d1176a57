import { z } from 'zod';
import { ConflictError, UnknownTargetError, ValidationError, type Problem } from '../../engine/index.ts';
import { ErrorCode, type ErrorReply } from '../protocol.ts';

/**
 * Errors at the edge. Each carries the HTTP status and wire error code; `toReply` turns any error
 * (ours or the engine's) into the body sent to clients — never a stack trace.
 */
export class GatewayError extends Error {
  constructor(readonly status: number, readonly code: ErrorCode, message: string, readonly problems?: readonly Problem[], options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class UnauthorizedError extends GatewayError {
  constructor(message = 'a bearer token is required (Authorization: Bearer <token>, or auth.token in the socket handshake)') {
    super(401, ErrorCode.Unauthorized, message);
  }
}

export class ForbiddenError extends GatewayError {
  constructor(who: string, role: string, right: string) {
    super(403, ErrorCode.Forbidden, `"${who}" has role ${role}, which lacks the "${right}" right`);
  }
}

export class NotFoundError extends GatewayError {
  constructor(message: string) {
    super(404, ErrorCode.NotFound, message);
  }
}

export class InvalidError extends GatewayError {
  constructor(message: string, problems: readonly Problem[]) {
    super(400, ErrorCode.Invalid, message, problems);
  }
}

/** HTTP status, error code and body for any error. */
export function toReply(error: unknown): { status: number; reply: ErrorReply } {
  if (error instanceof GatewayError) {
    return { status: error.status, reply: { ok: false, code: error.code, message: error.message, ...(error.problems === undefined ? {} : { problems: error.problems }) } };
  }
  if (error instanceof ValidationError) {
    const fields = error.problems.map((p) => `${p.path}: ${p.reason}`).join('; ');
    return { status: 400, reply: { ok: false, code: ErrorCode.Invalid, message: `invalid ${error.source}: ${fields}`, problems: error.problems } };
  }
  if (error instanceof UnknownTargetError) return { status: 404, reply: { ok: false, code: ErrorCode.NotFound, message: error.message } };
  if (error instanceof ConflictError) return { status: 409, reply: { ok: false, code: ErrorCode.Conflict, message: error.message } };
  if (error instanceof RangeError) return { status: 400, reply: { ok: false, code: ErrorCode.Invalid, message: error.message } };
  return { status: 500, reply: { ok: false, code: ErrorCode.Internal, message: 'internal error (see the server log)' } };
}

/** The body of every error reply, as the OpenAPI document shows it. */
export const errorBody = z.object({
  ok: z.literal(false),
  code: z.string(),
  message: z.string(),
  problems: z.array(z.object({ path: z.string(), reason: z.string() })).optional(),
});

/** The error replies any authenticated, validated, rate-limited route can give. */
export const errorResponses = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 429: errorBody };
