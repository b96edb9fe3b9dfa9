/**
 * The one map from Cubby errors to E2B's wire errors: `{"code":<http status>,"message":"..."}`.
 * The SDK reads the body's `code` (404: SandboxNotFoundError, 409 on pause: already paused) and
 * maps 401 to AuthenticationError, 429 to RateLimitError.
 */
import type { FastifyError, FastifyReply } from 'fastify';
import { CubbyError, asCubbyError, type ErrorKind } from '../../errors/index.js';

const STATUS: Record<ErrorKind, number> = {
  validation: 400,
  not_found: 404,
  conflict: 409,
  unauthorized: 401,
  forbidden: 403,
  throttled: 429,
  // E2B answers a full concurrency allowance with 429 ("rate limit"), which the SDK retries as such.
  quota: 429,
  unavailable: 503,
  internal: 500,
};

export function e2bStatusOf(err: CubbyError): number {
  if (err.code === 'API_BODY_TOO_LARGE') return 413;
  return STATUS[err.kind];
}

/** Fastify's own errors (body too large, bad content length, ...) in Cubby terms. */
export function fromFastifyError(err: FastifyError): CubbyError {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new CubbyError('API_BODY_TOO_LARGE', 'Request body is larger than this server accepts.');
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return new CubbyError('CUBBY_VALIDATION', err.message);
  return asCubbyError(err);
}

export function sendE2bError(reply: FastifyReply, err: CubbyError): FastifyReply {
  const status = e2bStatusOf(err);
  // Internal errors are bugs: their text may hold paths or state, so it stays in the log.
  const message = err.kind === 'internal' ? 'An internal error occurred.' : err.message;
  const retry = err.details?.retryAfterSeconds;
  if (err.kind === 'throttled' && typeof retry === 'number' && retry > 0) reply.header('Retry-After', String(Math.ceil(retry)));
  return reply.code(status).header('content-type', 'application/json').send({ code: status, message });
}
