/**
 * Plain HTTP forwarding: bodies stream both ways through pipes (backpressure, no buffering),
 * response headers go out at once so SSE and chunked streams flow event by event.
 */
import { request, type Agent, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { sendHttpError } from './error-response.js';
import { clientResponseHeaders } from './forward-headers.js';
import type { RouteForm } from './route.js';
import { armConnectTimeout, upstreamError } from './upstream-errors.js';
import { wasPreconnected } from './upstream-agents.js';

export interface HttpForward {
  address: string;
  port: number;
  agent: Agent;
  headers: OutgoingHttpHeaders;
  form: RouteForm;
  connectTimeoutMs: number;
  /** The only host an app's Set-Cookie may name in Domain (set-cookie.ts); undefined: none. */
  cookieHost: string | undefined;
  /** The client speaks HTTP/2 (no status message, no connection-specific headers). */
  h2: boolean;
  /** The request has no body (incoming.ts decides, per protocol). */
  bodiless: boolean;
}

// Safe to send twice: a pooled (or pre-connected) connection the app had already closed is retried once.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export function forwardHttp(req: IncomingMessage, res: ServerResponse, f: HttpForward): void {
  const bodiless = f.bodiless;
  const retriable = bodiless && IDEMPOTENT.has(req.method ?? '');

  const attempt = (mayRetry: boolean): void => {
    const up = request({
      host: f.address,
      port: f.port,
      method: req.method,
      path: req.url,
      headers: f.headers,
      agent: f.agent,
    });
    armConnectTimeout(up, f.connectTimeoutMs);
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });

    up.on('response', (ures) => {
      const headers = clientResponseHeaders(ures.headersDistinct, f.cookieHost);
      if (f.h2) res.writeHead(ures.statusCode ?? 502, headers);
      else res.writeHead(ures.statusCode ?? 502, ures.statusMessage, headers);
      // A stream (SSE, chunked) gets its headers at once, before any event; a sized body sends
      // them with its first bytes instead, one packet fewer.
      if (ures.headers['content-length'] === undefined) res.flushHeaders();
      ures.pipe(res, { end: false });
      ures.on('end', () => {
        // Set-Cookie is not allowed in trailers (RFC 9110 6.5.1): never relayed unscoped from there.
        const trailers = Object.entries(ures.trailers).filter(([name]) => name !== 'set-cookie');
        if (trailers.length > 0) res.addTrailers(Object.fromEntries(trailers) as Record<string, string>);
        res.end();
      });
      // The app died mid-response: the client must see a broken stream, not a clean end.
      ures.on('close', () => {
        if (!ures.complete) res.destroy();
      });
    });

    up.on('error', (err) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const code = (err as NodeJS.ErrnoException).code;
      // A pre-connected socket may also have been refused (the app listened only later): nothing was sent.
      const stale = up.reusedSocket
        ? code === 'ECONNRESET' || code === 'EPIPE'
        : wasPreconnected(up.socket) && (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNREFUSED');
      if (mayRetry && stale) {
        attempt(false);
        return;
      }
      req.unpipe(up);
      sendHttpError(res, upstreamError(err, f.port), f.form);
    });

    if (bodiless) up.end();
    else req.pipe(up);
  };
  attempt(retriable);
}
