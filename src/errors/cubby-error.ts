import { type ErrorCode, type ErrorKind, kindOf } from './codes.js';

/** Every error Cubby raises on purpose: a stable code, a human message, optional details. */
export class CubbyError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { details?: Record<string, unknown>; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CubbyError';
    this.code = code;
    this.kind = kindOf(code);
    this.details = options?.details;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, kind: this.kind, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export function isCubbyError(e: unknown, code?: ErrorCode): e is CubbyError {
  return e instanceof CubbyError && (code === undefined || e.code === code);
}

/** Wraps anything thrown into a CubbyError, keeping ours as they are. */
export function asCubbyError(e: unknown, code: ErrorCode = 'CUBBY_INTERNAL'): CubbyError {
  if (e instanceof CubbyError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new CubbyError(code, msg, { cause: e });
}
