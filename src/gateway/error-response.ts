/** The gateway's own answers (auth, routing, resume and upstream failures): short JSON bodies. */
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { CubbyError, ErrorKind } from '../errors/index.js';
import type { RouteForm } from './route.js';

const STATUS_BY_KIND: Record<ErrorKind, number> = {
  validation: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  throttled: 429,
  quota: 429,
  // In a proxy every dependency failure (resume, upstream connect) is a bad gateway.
  unavailable: 502,
  internal: 500,
};

export function statusOf(err: CubbyError): number {
  return STATUS_BY_KIND[err.kind];
}

/** E2B clients expect {code: <http status>, message}; everyone else gets Cubby's code names. */
function body(err: CubbyError, form: RouteForm | undefined): string {
  // E2B's proxy answer for a sandbox that is not running (its SDK's isRunning() keys on the 502).
  if (err.code === 'GATEWAY_SANDBOX_NOT_FOUND') {
    return JSON.stringify({ message: 'The sandbox was not found', sandboxId: err.details?.sandboxId, code: 502 });
  }
  const reason = typeof err.details?.reason === 'string' ? { reason: err.details.reason } : {};
  if (form === 'e2b-host' || form === 'e2b-headers') return JSON.stringify({ code: statusOf(err), message: err.message, ...reason });
  return JSON.stringify({ code: err.code, message: err.message, ...reason });
}

export function sendHttpError(res: ServerResponse, err: CubbyError, form: RouteForm | undefined): number {
  const status = statusOf(err);
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  const text = body(err, form);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
  return status;
}

/** The same answer on a raw socket, for refused upgrades (no ServerResponse exists there). */
export function sendSocketError(socket: Duplex, err: CubbyError, form: RouteForm | undefined): number {
  const status = statusOf(err);
  const text = body(err, form);
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
        'Content-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(text)}\r\n` +
        'Connection: close\r\n\r\n' +
        text,
    );
  }
  // Drain whatever the client still sends, and close for good shortly after the answer left:
  // the server's sockets are half-open capable, so end() alone could leave it lingering.
  socket.resume();
  socket.once('finish', () => setTimeout(() => socket.destroy(), 2000).unref());
  return status;
}
