/**
 * Upgrade forwarding (WebSocket and any other HTTP/1.1 upgrade): the handshake goes through the
 * app's HTTP server, then the two TCP connections are spliced byte for byte. Frames, close codes
 * and pings pass untouched and pipes carry backpressure both ways.
 */
import { STATUS_CODES, request, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { sendSocketError } from './error-response.js';
import type { RouteForm } from './route.js';
import { scopeRawSetCookies } from './set-cookie.js';
import { isGatewaySubprotocol, PORT_SUBPROTOCOL_PREFIX } from './subprotocols.js';
import { armConnectTimeout, upstreamError } from './upstream-errors.js';

export interface UpgradeForward {
  address: string;
  port: number;
  headers: OutgoingHttpHeaders;
  form: RouteForm;
  /** Subprotocols the client offered (gateway ones included). */
  offered: string[];
  connectTimeoutMs: number;
  /** The only host an app's Set-Cookie may name in Domain (set-cookie.ts); undefined: none. */
  cookieHost: string | undefined;
}

/**
 * Resolves with the status the client got once both connections are closed (101 for a
 * spliced connection, the app's status for a refused handshake, 502 when the app is down).
 */
export function forwardUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, f: UpgradeForward): Promise<number> {
  return new Promise((resolve) => {
    // A fresh connection: once upgraded it can never return to a keep-alive pool.
    const up = request({ host: f.address, port: f.port, method: req.method, path: req.url, headers: f.headers, agent: false });
    armConnectTimeout(up, f.connectTimeoutMs);
    const onClientGone = () => up.destroy();
    client.once('close', onClientGone);

    up.on('upgrade', (ures, upSocket, upHead) => {
      client.off('close', onClientGone);
      client.write(responseHead(ures, 101, scopeRawSetCookies(upgradeResponseHeaders(ures, f.offered), f.cookieHost)));
      if (upHead.length > 0) client.write(upHead);
      if (head.length > 0) upSocket.write(head);
      splice(client, upSocket, () => resolve(101));
    });

    // The app refused the upgrade: relay its answer as is and close.
    up.on('response', (ures) => {
      client.off('close', onClientGone);
      const status = ures.statusCode ?? 502;
      client.write(responseHead(ures, status, [...scopeRawSetCookies(stripFraming(ures.rawHeaders), f.cookieHost), 'Connection', 'close']));
      ures.pipe(client);
      client.once('finish', () => setTimeout(() => client.destroy(), 2000).unref());
      client.once('close', () => {
        ures.destroy();
        resolve(status);
      });
    });

    up.on('error', (err) => {
      client.off('close', onClientGone);
      if (client.destroyed) {
        resolve(499);
        return;
      }
      const status = sendSocketError(client, upstreamError(err, f.port), f.form);
      client.once('close', () => resolve(status));
    });
    up.end();
  });
}

function splice(a: Duplex, b: Socket, onClosed: () => void): void {
  if ('setNoDelay' in a && typeof a.setNoDelay === 'function') (a as Socket).setNoDelay(true);
  b.setNoDelay(true);
  a.pipe(b);
  b.pipe(a);
  let open = 2;
  const closed = () => {
    if (--open === 0) onClosed();
  };
  // Either side failing tears down both; a clean FIN is forwarded by pipe() as end().
  a.once('close', () => {
    b.destroy();
    closed();
  });
  b.once('close', () => {
    a.destroy();
    closed();
  });
  a.on('error', () => a.destroy());
  b.on('error', () => b.destroy());
}

/**
 * The app's 101 headers. If the app chose no subprotocol but the client offered only gateway
 * ones, one of those is echoed back: strict clients (the `ws` package) refuse a handshake where
 * they offered subprotocols and none was selected. The port one is preferred over the token.
 */
function upgradeResponseHeaders(ures: IncomingMessage, offered: string[]): string[] {
  const raw = [...ures.rawHeaders];
  const chosen = ures.headers['sec-websocket-protocol'];
  const appOffered = offered.filter((p) => !isGatewaySubprotocol(p));
  if (chosen === undefined && appOffered.length === 0 && offered.length > 0) {
    const echo = offered.find((p) => p.startsWith(PORT_SUBPROTOCOL_PREFIX)) ?? (offered[0] as string);
    raw.push('Sec-WebSocket-Protocol', echo);
  }
  return raw;
}

function stripFraming(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding') continue;
    out.push(raw[i] as string, raw[i + 1] as string);
  }
  return out;
}

function responseHead(ures: IncomingMessage, status: number, raw: string[]): string {
  let text = `HTTP/1.1 ${status} ${ures.statusMessage || STATUS_CODES[status] || ''}\r\n`;
  for (let i = 0; i + 1 < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${text}\r\n`;
}
