/**
 * The console's request plumbing: the session cookie, the cross-site guard, JSON errors and
 * server-sent events. State changes need both the session's CSRF token (a header a cross-site
 * form or image cannot set) and an Origin equal to this listener's own.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CubbyError, asCubbyError, type ErrorKind } from '../../errors/index.js';
import type { ConsoleSession, ConsoleSessions } from './sessions.js';

export const COOKIE = 'cubby_console';
export const CSRF_HEADER = 'x-cubby-csrf';

const STATUS: Record<ErrorKind, number> = {
  validation: 400,
  not_found: 404,
  conflict: 409,
  unauthorized: 401,
  forbidden: 403,
  throttled: 429,
  quota: 402,
  unavailable: 503,
  internal: 500,
};

export function sendConsoleError(reply: FastifyReply, err: unknown): FastifyReply {
  const e = asCubbyError(err);
  const status = STATUS[e.kind] ?? 500;
  return reply
    .code(status)
    .type('application/json')
    .send({ error: { code: e.code, message: status === 500 ? 'Internal error; see the daemon log.' : e.message } });
}

export function readCookie(req: FastifyRequest, name: string): string | undefined {
  const raw = req.headers.cookie;
  if (!raw) return undefined;
  for (const part of raw.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${COOKIE}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

/** The request's session, or CONSOLE_NO_SESSION (the page then shows sign-in). */
export function requireSession(req: FastifyRequest, sessions: ConsoleSessions): ConsoleSession {
  const s = sessions.get(readCookie(req, COOKIE));
  if (!s) throw new CubbyError('CONSOLE_NO_SESSION', 'Not signed in, or the session expired; sign in again.');
  return s;
}

/** Refuses a request whose Origin is absent or another site's (also used for sign-in itself). */
export function requireSameOrigin(req: FastifyRequest, secure: boolean): void {
  const origin = req.headers.origin;
  const own = `${secure ? 'https' : 'http'}://${req.headers.host ?? ''}`;
  const site = req.headers['sec-fetch-site'];
  if (origin !== own || (site !== undefined && site !== 'same-origin')) {
    throw new CubbyError('CONSOLE_CROSS_SITE', 'Refused: the request did not come from this console.');
  }
}

/** A state change: same origin and the session's CSRF token. */
export function requireChange(req: FastifyRequest, sessions: ConsoleSessions, secure: boolean): ConsoleSession {
  requireSameOrigin(req, secure);
  const s = requireSession(req, sessions);
  if (req.headers[CSRF_HEADER] !== s.csrf) throw new CubbyError('CONSOLE_CROSS_SITE', 'Refused: missing or wrong CSRF token.');
  return s;
}

export function jsonBody(req: FastifyRequest): Record<string, unknown> {
  const body = req.body;
  if (!Buffer.isBuffer(body) || body.length === 0) return {};
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new CubbyError('CUBBY_VALIDATION', 'The body must be a JSON object.');
}

export function str(v: unknown, name: string, opts: { optional?: boolean } = {}): string {
  if (typeof v === 'string' && v.length > 0) return v;
  if (opts.optional && (v === undefined || v === '')) return '';
  throw new CubbyError('CUBBY_VALIDATION', `${name} is required.`);
}

export interface EventStream {
  send(event: string, data: unknown): void;
  onClose(fn: () => void): void;
  closed(): boolean;
}

// Open streams per app, ended when the app closes (a hijacked reply would hold close() open).
const openStreams = new WeakMap<object, Set<() => void>>();

/** A route parameter ('' when absent). */
export function param(req: FastifyRequest, name: string): string {
  return (req.params as Record<string, string>)[name] ?? '';
}

/** A whole number within [min, max] from a form field; absent or empty: the fallback. */
export function whole(v: unknown, fallback: number, min: number, max: number, name: string): number {
  if (v === undefined || v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new CubbyError('CUBBY_VALIDATION', `${name} must be a whole number from ${min} to ${max}.`);
  return n;
}

export function endStreamsOnClose(app: FastifyInstance): void {
  const set = new Set<() => void>();
  openStreams.set(app, set);
  app.addHook('preClose', async () => {
    for (const end of set) end();
  });
}

/** Opens a server-sent event stream on the reply (Fastify lets go of it). */
export function openEventStream(req: FastifyRequest, reply: FastifyReply): EventStream {
  reply.hijack();
  const res = reply.raw;
  const registry = openStreams.get(req.server);
  const end = () => res.end();
  registry?.add(end);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.write(': open\n\n');
  let done = false;
  const closers: Array<() => void> = [];
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  keepAlive.unref();
  const close = () => {
    if (done) return;
    done = true;
    clearInterval(keepAlive);
    registry?.delete(end);
    for (const c of closers) c();
  };
  req.raw.once('close', close);
  res.once('close', close);
  return {
    send(event, data) {
      if (!done) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    onClose(fn) {
      closers.push(fn);
    },
    closed: () => done,
  };
}

/** Wraps a handler so failures answer as console JSON errors. */
export function handle<T>(fn: (req: FastifyRequest, reply: FastifyReply) => Promise<T>) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      const out = await fn(req, reply);
      if (reply.sent) return reply;
      return reply
        .header('cache-control', 'no-store')
        .type('application/json')
        .send(out ?? {});
    } catch (e) {
      if (reply.sent) return reply;
      return sendConsoleError(reply, e);
    }
  };
}
