/** Names a failed connection to the app in words a caller can act on. */
import type { ClientRequest } from 'node:http';
import { CubbyError } from '../errors/index.js';

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connect timed out',
  EPIPE: 'connection closed',
};

export function upstreamError(err: unknown, port: number): CubbyError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = (code && REASONS[code]) ?? (err instanceof Error ? err.message : String(err));
  return new CubbyError('GATEWAY_UPSTREAM_UNREACHABLE', `the app is not reachable on port ${port}: ${reason}`, {
    details: { reason, port },
    cause: err,
  });
}

/** An error carrying ETIMEDOUT, for connects the gateway gives up on. */
export function connectTimeout(ms: number): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`connect timed out after ${ms} ms`);
  e.code = 'ETIMEDOUT';
  return e;
}

/** Arms a connect timeout on a client request's socket; cleared once connected. */
export function armConnectTimeout(req: ClientRequest, ms: number): void {
  req.on('socket', (s) => {
    if (!s.connecting) return;
    const timer = setTimeout(() => req.destroy(connectTimeout(ms)), ms);
    s.once('connect', () => clearTimeout(timer));
    s.once('close', () => clearTimeout(timer));
  });
}
