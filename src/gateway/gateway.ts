/**
 * The endpoint gateway: one HTTP server in front of every microVM. A request is routed by its
 * Host (route.ts), authenticated (auth.ts; before anything about the target is looked up, so
 * a caller without a valid token learns nothing, not even whether the microVM exists),
 * resolved through the core (targets.ts), held while a suspended microVM resumes
 * (resume-gate.ts), and then streamed to the app (http-proxy.ts, upgrade-proxy.ts) or bridged
 * to a shell (shell.ts). E2B-form requests (route.ts) carry per-sandbox credentials instead,
 * checked against the resolved sandbox (e2b-access.ts). With TLS material it serves HTTPS,
 * HTTP/2 by ALPN beside HTTP/1.1 (incoming.ts evens out the two).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createSecureServer, Http2ServerResponse, type Http2SecureServer, type Http2ServerRequest } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { CubbyError, asCubbyError, errors } from '../errors/index.js';
import { firstVerdict, lambdaTokenAuthenticator } from './auth.js';
import { checkE2bAccess } from './e2b-access.js';
import { sendHttpError, sendSocketError } from './error-response.js';
import { cdpUpstreamHeaders, forwardCdpDiscovery, isCdpDiscovery } from './cdp.js';
import { upstreamRequestHeaders } from './forward-headers.js';
import { forwardHttp } from './http-proxy.js';
import { viewOf, type IncomingView } from './incoming.js';
import { noMetrics, type ExchangeKind, type GatewayMetrics } from './metrics.js';
import { ResumeGate } from './resume-gate.js';
import { routeRequest, type Route } from './route.js';
import { cookieHostFor } from './set-cookie.js';
import { runShell, SHELL_PATH, shellSize } from './shell.js';
import { isGatewaySubprotocol, parseSubprotocols, PORT_SUBPROTOCOL_PREFIX } from './subprotocols.js';
import type { ActivityKind, GatewayTargets, ShellProcess, TargetInfo } from './targets.js';
import type { TokenKind, TokenVerifier } from './tokens.js';
import { forwardUpgrade } from './upgrade-proxy.js';
import { UpstreamAgents } from './upstream-agents.js';

export interface GatewayOptions {
  targets: GatewayTargets;
  tokens: TokenVerifier;
  /** Endpoints are <microvmId>.<domain>; E2B hosts <port>-<id>.<domain>. */
  domain: string;
  logger?: Logger;
  metrics?: GatewayMetrics;
  /** App port when the request names none. Default 8080. */
  defaultPort?: number;
  /** X-Forwarded-Proto sent to apps ('https' behind a TLS terminator). Default 'https' with tls, else 'http'. */
  forwardedProto?: 'http' | 'https';
  /** Serve HTTPS (HTTP/2 by ALPN, and HTTP/1.1) with this certificate chain and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Every E2B sandbox's own ports need E2B-Traffic-Access-Token, whatever allowPublicTraffic says. */
  e2bRequireTrafficToken?: boolean;
  /** Longest a request is held while its microVM resumes. Default 120 s. */
  resumeTimeoutMs?: number;
  /** Longest wait for a TCP connect to the app. Default 10 s. */
  connectTimeoutMs?: number;
  /** Cap on concurrent connections from the gateway to one microVM. Default 128. */
  maxConnectionsPerTarget?: number;
  /** Idle pooled connections to apps close after this. Default 4 s. */
  upstreamIdleTimeoutMs?: number;
}

export interface Gateway {
  server: Server | Http2SecureServer;
  listen(host: string, port: number): Promise<{ port: number }>;
  /** Stops accepting, then ends every connection, WebSockets and shells included. */
  close(): Promise<void>;
  /** Drops pooled connections to a microVM (after it was suspended or terminated). */
  evict(microvmId: string): void;
  /**
   * Opens a connection to a microVM's default app port ahead of its first request (at launch,
   * while its run hook runs), so that request skips the slow first connect into the sandbox.
   */
  preconnect(microvmId: string, address: string): void;
}

/** Set while a request is handled, so errors are worded for its front door. */
interface Exchange {
  route?: Route;
}

export function createGateway(opts: GatewayOptions): Gateway {
  const domain = opts.domain.toLowerCase().replace(/\.$/, '');
  const log = opts.logger ?? pino({ enabled: false });
  const { targets } = opts;
  const authenticators = [lambdaTokenAuthenticator(opts.tokens)];
  const metrics = opts.metrics ?? noMetrics;
  const defaultPort = opts.defaultPort ?? 8080;
  const proto = opts.forwardedProto ?? (opts.tls ? 'https' : 'http');
  const requireTrafficToken = opts.e2bRequireTrafficToken ?? false;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const gate = new ResumeGate(targets, opts.resumeTimeoutMs ?? 120_000);
  const agents = new UpstreamAgents({
    maxSockets: opts.maxConnectionsPerTarget ?? 128,
    idleTimeoutMs: opts.upstreamIdleTimeoutMs ?? 4000,
  });
  const upgraded = new Set<Duplex>();
  const wss = new WebSocketServer({ noServer: true, handleProtocols: echoProtocol });

  // HTTP/2 and HTTP/1.1 requests reach one handler; the compat objects have the methods the proxy
  // uses, and what differs (headers, framing) goes through viewOf and the h2 flag.
  const handle = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
    void onRequest(req as IncomingMessage, res as ServerResponse, viewOf(req));
  };
  const tlsSockets = new Set<Socket>();
  let server: Server | Http2SecureServer;
  if (opts.tls) {
    const secure = createSecureServer({ allowHTTP1: true, cert: opts.tls.cert, key: opts.tls.key }, handle);
    secure.on('secureConnection', (s: Socket) => {
      s.setNoDelay(true);
      tlsSockets.add(s);
      s.once('close', () => tlsSockets.delete(s));
    });
    server = secure;
  } else {
    server = createServer({ noDelay: true, requestTimeout: 0 }, handle);
  }
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void onUpgrade(req, socket, head);
  });
  // Without a listener node drops CONNECT requests unanswered; the gateway tunnels nothing.
  server.on('connect', (_req: unknown, socket: Duplex | Http2ServerResponse) => {
    const refusal = new CubbyError('CUBBY_VALIDATION', 'the endpoint gateway does not tunnel (CONNECT)');
    if (socket instanceof Http2ServerResponse) {
      metrics.exchange('http', sendHttpError(socket as unknown as ServerResponse, refusal, undefined));
      return;
    }
    socket.on('error', () => {});
    metrics.exchange('http', sendSocketError(socket, refusal, undefined));
  });

  const activity = (id: string, kind: ActivityKind) => {
    try {
      targets.activity(id, kind);
    } catch (e) {
      log.warn({ err: e, microvmId: id }, 'activity hook failed');
    }
  };

  /**
   * Route, authenticate, resolve: everything before the target is touched. The Lambda form is
   * authenticated before the target is looked up. E2B forms are checked against the sandbox's
   * own credentials, so it is looked up first; one that is not running (or unknown) answers
   * E2B's 502 whoever asks, as E2B's proxy does, and reveals no more than that.
   */
  async function admit(req: IncomingMessage, headers: IncomingView['headers'], subprotocols: string[], ex: Exchange, isShell: boolean) {
    const route = routeRequest(headers, subprotocols, domain, defaultPort);
    ex.route = route;
    const kind: TokenKind = isShell && route.form === 'lambda' ? 'shell' : 'endpoint';
    const e2bForm = route.form !== 'lambda';
    const verdict = await firstVerdict(authenticators, { route, kind, headers, subprotocols });
    if (verdict.outcome === 'deny') throw verdict.error;
    if (verdict.outcome === 'abstain' && !e2bForm) throw new CubbyError('AUTH_MISSING', 'missing X-aws-proxy-auth token');
    const info = await targets.resolve(route.microvmId);
    if (e2bForm && !reachable(info)) {
      throw new CubbyError('GATEWAY_SANDBOX_NOT_FOUND', `sandbox ${route.microvmId} is not running`, {
        details: { sandboxId: route.microvmId },
      });
    }
    if (!info) throw errors.microvmNotFound(route.microvmId);
    // Defence in depth: credentials of one tenant never open another tenant's microVM.
    if (verdict.outcome === 'allow' && verdict.tenantId !== undefined && verdict.tenantId !== info.tenantId) {
      throw new CubbyError('TOKEN_INVALID', 'invalid token');
    }
    if (info.e2b && kind === 'endpoint') {
      checkE2bAccess({
        e2b: info.e2b,
        port: route.port,
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers,
        cubbyTokenValid: verdict.outcome === 'allow',
        requireTrafficToken,
      });
    } else if (verdict.outcome === 'abstain') {
      throw new CubbyError('AUTH_MISSING', 'missing X-aws-proxy-auth token');
    }
    return { route, kind, info };
  }

  /** Resumes when needed; returns the app's address and how long the request was held. */
  async function ready(route: Route, info: TargetInfo): Promise<{ address: string; heldNs: bigint }> {
    const start = process.hrtime.bigint();
    const { address, waited } = await gate.ready(route.microvmId, info);
    if (!waited) return { address, heldNs: 0n };
    const heldNs = process.hrtime.bigint() - start;
    metrics.resumeWait(Number(heldNs) / 1e9);
    agents.evict(route.microvmId); // a resume cut every connection the pool still holds
    return { address, heldNs };
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse, view: IncomingView): Promise<void> {
    const t0 = process.hrtime.bigint();
    const ex: Exchange = {};
    let active: string | undefined;
    res.once('close', () => {
      metrics.exchange('http', res.headersSent ? res.statusCode : 499);
      if (active) activity(active, 'request-end');
    });
    try {
      const { route, info } = await admit(req, view.headers, [], ex, false);
      active = route.microvmId;
      activity(active, 'request-start');
      const { address, heldNs } = await ready(route, info);
      if (res.destroyed) return; // the client gave up while the microVM resumed
      const forwarded = upstreamRequestHeaders(view.distinct, { clientAddress: req.socket.remoteAddress, proto }, false);
      const headers = cdpUpstreamHeaders(forwarded, req.url, route.port);
      metrics.addedLatency(Number(process.hrtime.bigint() - t0 - heldNs) / 1e9);
      const forward = {
        address,
        port: route.port,
        headers,
        form: route.form,
        connectTimeoutMs,
        agent: agents.get(route.microvmId, address),
        cookieHost: cookieHostFor(view.headers.host, route.form),
        h2: view.h2,
        bodiless: view.bodiless,
      };
      // CDP discovery answers name WebSocket URLs; they must lead back through this endpoint (cdp.ts).
      if (isCdpDiscovery(req.method, req.url)) {
        forwardCdpDiscovery(req, res, forward, { host: view.headers.host ?? '', scheme: proto === 'https' ? 'wss' : 'ws' });
      } else forwardHttp(req, res, forward);
    } catch (e) {
      const err = fail(e, ex);
      // An unread body would otherwise be read and discarded to keep the connection alive
      // (an HTTP/2 stream is reset instead; its connection lives on).
      if (!view.h2 && !req.complete && !res.headersSent) res.setHeader('connection', 'close');
      sendHttpError(res, err, ex.route?.form);
    }
  }

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const ex: Exchange = {};
    const subprotocols = parseSubprotocols(req.headers['sec-websocket-protocol']);
    const isShell = pathOf(req.url) === SHELL_PATH;
    let kind: ExchangeKind = 'websocket';
    let active: string | undefined;
    upgraded.add(socket);
    socket.on('error', () => {});
    const finish = (status: number) => {
      upgraded.delete(socket);
      metrics.exchange(kind, status);
      if (active) activity(active, 'ws-close');
    };
    try {
      const admitted = await admit(req, req.headers, subprotocols, ex, isShell);
      const { route, info } = admitted;
      if (admitted.kind === 'shell') kind = 'shell';
      active = route.microvmId;
      activity(active, 'ws-open');
      const { address } = await ready(route, info);
      if (socket.destroyed) {
        finish(499);
        return;
      }
      if (kind === 'shell') {
        await openShell(req, socket, head, route.microvmId, finish);
        return;
      }
      const forwarded = upstreamRequestHeaders(req.headersDistinct, { clientAddress: req.socket.remoteAddress, proto }, true);
      const headers = cdpUpstreamHeaders(forwarded, req.url, route.port);
      const status = await forwardUpgrade(req, socket, head, {
        address,
        port: route.port,
        headers,
        form: route.form,
        offered: subprotocols,
        connectTimeoutMs,
        cookieHost: cookieHostFor(req.headers.host, route.form),
      });
      finish(status);
    } catch (e) {
      const status = sendSocketError(socket, fail(e, ex), ex.route?.form);
      if (socket.destroyed) finish(status);
      else socket.once('close', () => finish(status));
    }
  }

  async function openShell(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    microvmId: string,
    finish: (status: number) => void,
  ): Promise<void> {
    if (req.headers.upgrade?.toLowerCase() !== 'websocket') {
      throw new CubbyError('CUBBY_VALIDATION', 'the shell speaks WebSocket only');
    }
    let proc: ShellProcess;
    try {
      proc = await targets.openShell(microvmId, shellSize(req.url));
    } catch (e) {
      throw new CubbyError('GATEWAY_SHELL_FAILED', `could not open a shell: ${e instanceof Error ? e.message : String(e)}`, {
        details: { reason: e instanceof Error ? e.message : String(e) },
        cause: e,
      });
    }
    let handed = false;
    // A handshake ws rejects (bad key, client gone) never reaches the callback: hang up then.
    socket.once('close', () => {
      if (!handed) {
        proc.kill('SIGHUP');
        finish(499);
      }
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      handed = true;
      runShell(ws, proc).then(
        () => finish(101),
        () => finish(101),
      );
    });
  }

  function fail(e: unknown, ex: Exchange): CubbyError {
    const err = asCubbyError(e);
    const where = ex.route ? { microvmId: ex.route.microvmId, port: ex.route.port } : {};
    if (err.kind === 'internal') log.error({ err: e, ...where }, 'gateway error');
    // E2B's "sandbox not found" answers every isRunning() probe of a paused sandbox: routine.
    else if (err.kind === 'unavailable' && err.code !== 'GATEWAY_SANDBOX_NOT_FOUND')
      log.warn({ code: err.code, msg: err.message, ...where }, 'gateway upstream failure');
    else log.debug({ code: err.code, ...where }, 'gateway refused request');
    return err;
  }

  return {
    server,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve({ port: (server.address() as AddressInfo).port });
        });
      });
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ('closeAllConnections' in server) server.closeAllConnections();
      for (const s of tlsSockets) s.destroy();
      for (const ws of wss.clients) ws.terminate();
      for (const s of upgraded) s.destroy();
      agents.closeAll();
      await closed;
    },
    evict: (id) => agents.evict(id),
    preconnect: (id, address) => agents.preconnect(id, address, defaultPort),
  };
}

/** Shell subprotocol answer: a gateway subprotocol must be selected when only those were offered. */
function echoProtocol(protocols: Set<string>): string | false {
  const list = [...protocols];
  return list.find((p) => p.startsWith(PORT_SUBPROTOCOL_PREFIX)) ?? list.find(isGatewaySubprotocol) ?? false;
}

/** E2B forms reach only a sandbox that runs or will run on this request (auto-resume). */
function reachable(info: TargetInfo | undefined): info is TargetInfo {
  if (!info) return false;
  if (info.state === 'RUNNING' || info.state === 'PENDING') return true;
  return (info.state === 'SUSPENDED' || info.state === 'SUSPENDING') && info.autoResume;
}

function pathOf(url: string | undefined): string {
  const q = (url ?? '/').indexOf('?');
  return q < 0 ? (url ?? '/') : (url ?? '/').slice(0, q);
}
