/**
 * The one map from Cubby errors to the Lambda MicroVMs wire errors. The official client
 * (restJson1) picks the exception class from the `x-amzn-ErrorType` header, then the body's
 * `code`, then `__type`; it reads `message` and the exception's own members from the body.
 * So every error carries the header and `__type`, and the body never has a `code` member (the
 * Cubby code travels as `cubbyCode`, which the client copies onto the exception object).
 */
import type { FastifyReply } from 'fastify';
import type { CubbyError, ErrorCode, ErrorKind } from '../../errors/index.js';

export interface WireError {
  status: number;
  type: string;
}

/** Statuses are the ones the model declares for each exception (`httpError` traits). */
const BY_KIND: Record<ErrorKind, WireError> = {
  validation: { status: 400, type: 'ValidationException' },
  not_found: { status: 404, type: 'ResourceNotFoundException' },
  conflict: { status: 409, type: 'ConflictException' },
  // Refined per code below; AWS answers bad credentials with 403 and these names.
  unauthorized: { status: 403, type: 'UnrecognizedClientException' },
  forbidden: { status: 403, type: 'AccessDeniedException' },
  throttled: { status: 429, type: 'ThrottlingException' },
  quota: { status: 402, type: 'ServiceQuotaExceededException' },
  // Modeled as 500; 503 says "try again" to every HTTP client, and the SDK retries both.
  unavailable: { status: 503, type: 'ServiceException' },
  internal: { status: 500, type: 'InternalServerException' },
};

/**
 * Credential failures use AWS's own names: the client has no classes for them and surfaces a
 * LambdaMicrovmsServiceException whose `name` is the type. `InvalidSignatureException` with
 * "Signature expired" is what makes the client correct its clock and retry.
 */
const BY_CODE: Partial<Record<ErrorCode, WireError>> = {
  AUTH_MISSING: { status: 403, type: 'MissingAuthenticationTokenException' },
  AUTH_MALFORMED: { status: 403, type: 'IncompleteSignatureException' },
  AUTH_UNKNOWN_KEY: { status: 403, type: 'UnrecognizedClientException' },
  AUTH_BAD_SIGNATURE: { status: 403, type: 'InvalidSignatureException' },
  AUTH_EXPIRED: { status: 403, type: 'InvalidSignatureException' },
  AUTH_REPLAYED: { status: 403, type: 'InvalidSignatureException' },
  // A microVM's session credential past its expiration: AWS's name, which makes SDKs refresh it.
  AUTH_SESSION_EXPIRED: { status: 403, type: 'ExpiredTokenException' },
  API_UNKNOWN_OPERATION: { status: 404, type: 'UnknownOperationException' },
  // The host (not the tenant) is full: the model's InsufficientCapacityException, a 500 it retries.
  HOST_CAPACITY: { status: 500, type: 'InsufficientCapacityException' },
};

export function wireErrorFor(err: CubbyError): WireError {
  return BY_CODE[err.code] ?? BY_KIND[err.kind];
}

function detailString(err: CubbyError, key: string): string | undefined {
  const v = err.details?.[key];
  return typeof v === 'string' ? v : undefined;
}

export function errorBody(err: CubbyError, wire: WireError): Record<string, unknown> {
  const body: Record<string, unknown> = {
    __type: wire.type,
    // Internal errors are bugs: their text may hold paths or state, so it stays in the log.
    message: err.kind === 'internal' ? 'An internal error occurred.' : err.message,
    cubbyCode: err.code,
  };
  const resourceType = detailString(err, 'resourceType');
  const resourceId = detailString(err, 'resourceId');
  if (resourceType !== undefined) body.resourceType = resourceType;
  if (resourceId !== undefined) body.resourceId = resourceId;
  if (wire.type === 'ServiceException') body.Type = 'Service';
  // ServiceQuotaExceededException's own members: which quota (the Cubby code) of which service.
  // ThrottlingException has the same two; its retryAfterSeconds is bound to the Retry-After header.
  if (wire.type === 'ServiceQuotaExceededException' || wire.type === 'ThrottlingException') {
    body.serviceCode = 'cubby';
    body.quotaCode = err.code;
  }
  return body;
}

export function sendError(reply: FastifyReply, err: CubbyError): FastifyReply {
  const wire = wireErrorFor(err);
  reply.code(wire.status).header('x-amzn-ErrorType', wire.type).header('content-type', 'application/json');
  if (err.kind === 'throttled') {
    const retry = err.details?.retryAfterSeconds;
    reply.header('Retry-After', String(typeof retry === 'number' && retry > 0 ? Math.ceil(retry) : 1));
  }
  return reply.send(errorBody(err, wire));
}
