/**
 * Header rewriting between client and app. The gateway's own headers (x-aws-proxy-*,
 * E2B-Traffic-Access-Token) and its subprotocols never reach the app; hop-by-hop headers stay on their hop; the app learns the
 * original client, scheme and host through X-Forwarded-*.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { scopeSetCookies } from './set-cookie.js';
import { isGatewaySubprotocol } from './subprotocols.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'transfer-encoding',
  'upgrade',
]);

export interface ForwardInfo {
  clientAddress: string | undefined;
  proto: string;
}

/** Request headers for the app. `upgrade` keeps Connection/Upgrade for a WebSocket handshake. */
export function upstreamRequestHeaders(headersDistinct: NodeJS.Dict<string[]>, info: ForwardInfo, upgrade: boolean): OutgoingHttpHeaders {
  const named = connectionTokens(headersDistinct['connection']);
  const out: OutgoingHttpHeaders = {};
  for (const [name, values] of Object.entries(headersDistinct)) {
    if (!values) continue;
    if (name.startsWith('x-aws-proxy-') || HOP_BY_HOP.has(name) || named.has(name)) continue;
    // E2B's traffic token is the gateway's credential like x-aws-proxy-auth; X-Access-Token goes
    // on, as E2B's proxy does (the agent ignores it; E2B's code interpreter relays it).
    if (name === 'e2b-traffic-access-token' || name.startsWith(':')) continue;
    // Node already answered "100 Continue" to the client; the app must not wait for one.
    if (name === 'expect') continue;
    if (name.startsWith('x-forwarded-')) continue; // client-supplied values are not to be trusted
    if (name === 'sec-websocket-protocol') {
      const kept = values
        .flatMap((v) => v.split(','))
        .map((s) => s.trim())
        .filter((s) => s && !isGatewaySubprotocol(s));
      if (kept.length > 0) out[name] = kept.join(', ');
      continue;
    }
    out[name] = values.length === 1 ? values[0] : values;
  }
  const host = headersDistinct['host']?.[0];
  if (info.clientAddress) out['x-forwarded-for'] = info.clientAddress;
  out['x-forwarded-proto'] = info.proto;
  if (host) out['x-forwarded-host'] = host;
  if (upgrade) {
    out['connection'] = 'Upgrade';
    out['upgrade'] = headersDistinct['upgrade']?.[0] ?? 'websocket';
  }
  return out;
}

/**
 * Response headers for the client, minus hop-by-hop ones (Node sets its own framing), with each
 * Set-Cookie kept to `cookieHost` (set-cookie.ts: no cookie reaches other tenants' endpoints).
 */
export function clientResponseHeaders(headersDistinct: NodeJS.Dict<string[]>, cookieHost: string | undefined): OutgoingHttpHeaders {
  const named = connectionTokens(headersDistinct['connection']);
  const out: OutgoingHttpHeaders = {};
  for (const [name, values] of Object.entries(headersDistinct)) {
    if (!values) continue;
    if (HOP_BY_HOP.has(name) || named.has(name)) continue;
    if (name === 'set-cookie') {
      out[name] = scopeSetCookies(values, cookieHost);
      continue;
    }
    out[name] = values.length === 1 ? values[0] : values;
  }
  return out;
}

/** Headers named in Connection are hop-by-hop too (RFC 9110 7.6.1). */
function connectionTokens(values: string[] | undefined): Set<string> {
  const set = new Set<string>();
  for (const v of values ?? []) for (const t of v.split(',')) if (t.trim()) set.add(t.trim().toLowerCase());
  return set;
}
