/**
 * The endpoint gateway: one HTTP server in front of every microVM. A request is routed by its
 * Host (route.ts), authenticated (auth.ts; before anything about the target is looked up, so
 * a caller without a valid token learns nothing, not even whether the microVM exists),
 * resolved through the core (targets.ts), held while a suspended microVM resumes
 * (resume-gate.ts), and then streamed to the app (http-proxy.ts, upgrade-proxy.ts) or bridged
 * to a shell (shell.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { CubbyError, asCubbyError } from '../errors/index.js';
import { authenticate, lambdaTokenAuthenticator } from './auth.js';
import { sendHttpError, sendSocketError } from './error-response.js';
import { upstreamRequestHeaders } from './forward-headers.js';
import { forwardHttp } from './http-proxy.js';
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
  /** X-Forwarded-Proto sent to apps ('https' behind a TLS terminator). Default 'http'. */
  forwardedProto?: 'http' | 'https';
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
  server: Server;
  listen(host: string, port: number): Promise<{ port: number }>;
  /** Stops accepting, then ends every connection, WebSockets and shells included. */
  close(): Promise<void>;
  /** Drops pooled connections to a microVM (after it was suspended or terminated). */
  evict(microvmId: string): void;
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
  const proto = opts.forwardedProto ?? 'http';
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const gate = new ResumeGate(targets, opts.resumeTimeoutMs ?? 120_000);
  const agents = new UpstreamAgents({
    maxSockets: opts.maxConnectionsPerTarget ?? 128,
    idleTimeoutMs: opts.upstreamIdleTimeoutMs ?? 4000,
  });
  const upgraded = new Set<Duplex>();
  const wss = new WebSocketServer({ noServer: true, handleProtocols: echoProtocol });

  const server = createServer({ noDelay: true, requestTimeout: 0 }, (req, res) => {
    void onRequest(req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void onUpgrade(req, socket, head);
  });
  // Without a listener node drops CONNECT requests unanswered; the gateway tunnels nothing.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => {});
    metrics.exchange(
      'http',
      sendSocketError(socket, new CubbyError('CUBBY_VALIDATION', 'the endpoint gateway does not tunnel (CONNECT)'), undefined),
    );
  });

  const activity = (id: string, kind: ActivityKind) => {
    try {
      targets.activity(id, kind);
    } catch (e) {
      log.warn({ err: e, microvmId: id }, 'activity hook failed');
    }
  };

  /** Route, authenticate, resolve: everything before the target is touched. */
  async function admit(req: IncomingMessage, subprotocols: string[], ex: Exchange, isShell: boolean) {
    const route = routeRequest(req.headers, subprotocols, domain, defaultPort);
    ex.route = route;
    const kind: TokenKind = isShell && route.form === 'lambda' ? 'shell' : 'endpoint';
    const verdict = await authenticate(authenticators, { route, kind, headers: req.headers, subprotocols });
    if (verdict.outcome === 'deny') throw verdict.error;
    const info = await targets.resolve(route.microvmId);
    if (!info) throw new CubbyError('MICROVM_NOT_FOUND', `microVM ${route.microvmId} not found`);
    // Defence in depth: credentials of one tenant never open another tenant's microVM.
    if (verdict.outcome === 'allow' && verdict.tenantId !== undefined && verdict.tenantId !== info.tenantId) {
      throw new CubbyError('TOKEN_INVALID', 'invalid token');
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

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = process.hrtime.bigint();
    const ex: Exchange = {};
    let active: string | undefined;
    res.once('close', () => {
      metrics.exchange('http', res.headersSent ? res.statusCode : 499);
      if (active) activity(active, 'request-end');
    });
    try {
      const { route, info } = await admit(req, [], ex, false);
      active = route.microvmId;
      activity(active, 'request-start');
      const { address, heldNs } = await ready(route, info);
      if (res.destroyed) return; // the client gave up while the microVM resumed
      const headers = upstreamRequestHeaders(req.headersDistinct, { clientAddress: req.socket.remoteAddress, proto }, false);
      metrics.addedLatency(Number(process.hrtime.bigint() - t0 - heldNs) / 1e9);
      forwardHttp(req, res, {
        address,
        port: route.port,
        headers,
        form: route.form,
        connectTimeoutMs,
        agent: agents.get(route.microvmId, address),
        cookieHost: cookieHostFor(req.headers.host, route.form),
      });
    } catch (e) {
      const err = fail(e, ex);
      // An unread body would otherwise be read and discarded to keep the connection alive.
      if (!req.complete && !res.headersSent) res.setHeader('connection', 'close');
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
      const admitted = await admit(req, subprotocols, ex, isShell);
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
      const headers = upstreamRequestHeaders(req.headersDistinct, { clientAddress: req.socket.remoteAddress, proto }, true);
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
    else if (err.kind === 'unavailable') log.warn({ code: err.code, msg: err.message, ...where }, 'gateway upstream failure');
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
      server.closeAllConnections();
      for (const ws of wss.clients) ws.terminate();
      for (const s of upgraded) s.destroy();
      agents.closeAll();
      await closed;
    },
    evict: (id) => agents.evict(id),
  };
}

/** Shell subprotocol answer: a gateway subprotocol must be selected when only those were offered. */
function echoProtocol(protocols: Set<string>): string | false {
  const list = [...protocols];
  return list.find((p) => p.startsWith(PORT_SUBPROTOCOL_PREFIX)) ?? list.find(isGatewaySubprotocol) ?? false;
}

function pathOf(url: string | undefined): string {
  const q = (url ?? '/').indexOf('?');
  return q < 0 ? (url ?? '/') : (url ?? '/').slice(0, q);
}
