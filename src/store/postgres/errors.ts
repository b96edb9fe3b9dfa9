/**
 * PostgreSQL's errors as CubbyErrors. A unique violation means another writer got there first
 * (the same codes the SQLite store raises from its own checks); serialization failures,
 * deadlocks, lock timeouts and a lost or refused connection are worth retrying (STORE_BUSY);
 * anything else is a bug.
 */
import { CubbyError } from '../../errors/index.js';
import type { ErrorCode } from '../../errors/index.js';

/** Unique constraints named in migrations.ts whose violation has its own code. */
const UNIQUE_CODES: Record<string, ErrorCode> = {
  tenants_name_unique: 'TENANT_EXISTS',
  images_name_unique: 'IMAGE_EXISTS',
  roles_name_unique: 'ROLE_EXISTS',
};

/** SQLSTATEs of transient failures: serialization, deadlock, lock wait, shutdown, too many connections. */
const RETRYABLE = new Set(['40001', '40P01', '55P03', '57P01', '57P02', '57P03', '53300']);
/** Node's errors for a socket that is gone or never was. */
const CONNECTION_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

interface PgLikeError extends Error {
  code?: string;
  constraint?: string;
}

export function mapPgError(e: unknown): unknown {
  if (e instanceof CubbyError || !(e instanceof Error)) return e;
  const err = e as PgLikeError;
  const code = err.code ?? '';
  if (code === '23505') {
    const mapped = (err.constraint && UNIQUE_CODES[err.constraint]) || 'STORE_CONFLICT';
    return new CubbyError(mapped, `already exists (${err.constraint ?? 'unique constraint'})`, { cause: e });
  }
  if (
    RETRYABLE.has(code) ||
    code.startsWith('08') ||
    CONNECTION_ERRNO.has(code) ||
    /Connection terminated|timeout exceeded when trying to connect/i.test(err.message)
  ) {
    return new CubbyError('STORE_BUSY', `the database is unavailable or busy; retry (${err.message})`, { cause: e });
  }
  if (/Cannot use a pool after calling end/i.test(err.message)) return new CubbyError('STORE_CLOSED', 'the store is closed');
  if (/^[0-9A-Z]{5}$/.test(code)) {
    return new CubbyError('CUBBY_INTERNAL', `database error: ${err.message}`, { cause: e, details: { sqlState: code } });
  }
  return e;
}
