/**
 * Chrome DevTools Protocol through an endpoint (the debian-12-chromium base serves it on 9222).
 * CDP clients (Playwright's connectOverCDP, Puppeteer's connect) GET /json/version, then open the
 * WebSocket its `webSocketDebuggerUrl` names. Two things stand between that and the gateway:
 *  - a DevTools server answers only requests whose Host is an IP or localhost (its defence
 *    against DNS rebinding), so requests on its paths reach the app with Host localhost:<port>
 *    (the endpoint's name still arrives in X-Forwarded-Host);
 *  - it builds those URLs from that Host, so in its discovery answers every URL naming
 *    localhost:<port> is rewritten to the endpoint's own ws(s)://<host>, and the client comes
 *    back through the gateway, with its token, instead of dialing the sandbox.
 * Nothing else is changed: other answers on these paths (an app that is not a DevTools server)
 * pass as they are.
 */
import { request, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { sendHttpError } from './error-response.js';
import { clientResponseHeaders } from './forward-headers.js';
import type { HttpForward } from './http-proxy.js';
import { armConnectTimeout, upstreamError } from './upstream-errors.js';

/** Discovery answers are a few KiB (one entry per tab); larger ones pass unrewritten. */
const MAX_DISCOVERY_BYTES = 1024 * 1024;

const CDP_PATH = /^\/(?:json(?:[/?]|$)|devtools\/)/;
const DISCOVERY_PATH = /^\/json(?:\/(?:version|list|new))?\/?(?:\?|$)/;

/** A path a DevTools server serves: /json... (discovery) and /devtools/... (its WebSockets). */
export function isCdpPath(url: string | undefined): boolean {
  return CDP_PATH.test(url ?? '/');
}

/** A discovery request, whose JSON answer names WebSocket URLs (PUT /json/new opens a tab). */
export function isCdpDiscovery(method: string | undefined, url: string | undefined): boolean {
  return (method === 'GET' || method === 'PUT') && DISCOVERY_PATH.test(url ?? '/');
}

/** The Host a DevTools server accepts, for requests on its paths; other requests keep theirs. */
export function cdpUpstreamHeaders(headers: OutgoingHttpHeaders, url: string | undefined, port: number): OutgoingHttpHeaders {
  return isCdpPath(url) ? { ...headers, host: appHost(port) } : headers;
}

function appHost(port: number): string {
  return `localhost:${port}`;
}

export interface PublicEndpoint {
  /** The Host the client used for the endpoint (name and port). */
  host: string;
  /** 'wss' when the gateway serves TLS. */
  scheme: 'ws' | 'wss';
}

/**
 * Rewrites the URLs of a discovery answer that name the app's own host to the endpoint; undefined
 * when the body is not such an answer (not JSON, or nothing to rewrite).
 */
export function rewriteDiscovery(body: string, port: number, pub: PublicEndpoint): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return undefined;
  }
  const own = appHost(port);
  let changed = false;
  const fix = (entry: unknown) => {
    if (!entry || typeof entry !== 'object') return;
    const e = entry as Record<string, unknown>;
    const ws = e.webSocketDebuggerUrl;
    if (typeof ws === 'string' && ws.startsWith(`ws://${own}/`)) {
      e.webSocketDebuggerUrl = `${pub.scheme}://${pub.host}${ws.slice(`ws://${own}`.length)}`;
      changed = true;
    }
    const front = e.devtoolsFrontendUrl;
    if (typeof front === 'string' && front.includes(`ws=${own}/`)) {
      e.devtoolsFrontendUrl = front.replace(`ws=${own}/`, `${pub.scheme}=${pub.host}/`);
      changed = true;
    }
  };
  if (Array.isArray(doc)) doc.forEach(fix);
  else fix(doc);
  return changed ? JSON.stringify(doc, null, 3) : undefined;
}

/**
 * Forwards a discovery request and rewrites its answer (read whole, within MAX_DISCOVERY_BYTES);
 * an answer that is compressed, too large or not a discovery document is relayed unchanged.
 */
export function forwardCdpDiscovery(req: IncomingMessage, res: ServerResponse, f: HttpForward, pub: PublicEndpoint): void {
  const up = request({ host: f.address, port: f.port, method: req.method, path: req.url, headers: f.headers, agent: f.agent });
  armConnectTimeout(up, f.connectTimeoutMs);
  res.on('close', () => {
    if (!res.writableFinished) up.destroy();
  });
  up.on('response', (ures) => {
    const headers = clientResponseHeaders(ures.headersDistinct, f.cookieHost);
    const status = ures.statusCode ?? 502;
    const head = (h: OutgoingHttpHeaders) => (f.h2 ? res.writeHead(status, h) : res.writeHead(status, ures.statusMessage, h));
    const declared = Number(ures.headers['content-length'] ?? 0);
    if (ures.headers['content-encoding'] !== undefined || declared > MAX_DISCOVERY_BYTES) {
      head(headers);
      ures.pipe(res);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let relaying = false;
    ures.on('data', (c: Buffer) => {
      if (relaying) return;
      chunks.push(c);
      size += c.length;
      if (size > MAX_DISCOVERY_BYTES) {
        // Not a discovery document after all: relay what came and the rest as it comes.
        relaying = true;
        head(headers);
        res.write(Buffer.concat(chunks));
        ures.pipe(res);
      }
    });
    ures.on('end', () => {
      if (relaying) return;
      const body = Buffer.concat(chunks);
      const rewritten = status === 200 ? rewriteDiscovery(body.toString('utf8'), f.port, pub) : undefined;
      const out = rewritten === undefined ? body : Buffer.from(rewritten);
      delete headers['transfer-encoding'];
      head({ ...headers, 'content-length': String(out.length) });
      res.end(out);
    });
    ures.on('close', () => {
      if (!ures.complete) res.destroy();
    });
  });
  up.on('error', (err) => {
    if (res.headersSent) res.destroy();
    else sendHttpError(res, upstreamError(err, f.port), f.form);
  });
  if (f.bodiless) up.end();
  else req.pipe(up);
}
