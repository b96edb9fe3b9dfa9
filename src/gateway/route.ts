/**
 * Which microVM and port a request is for. Three forms reach the same proxy:
 *   <microvmId>.<domain>          Lambda MicroVMs; port from X-aws-proxy-port or the
 *                                 lambda-microvms.port.<n> subprotocol, else the default (8080)
 *   <port>-<sandboxId>.<domain>   E2B's getHost(port)
 *   <domain> + E2b-Sandbox-Id/E2b-Sandbox-Port headers   E2B SDK with sandboxUrl set
 */
import type { IncomingHttpHeaders } from 'node:http';
import { CubbyError } from '../errors/index.js';
import { PORT_SUBPROTOCOL_PREFIX, subprotocolValue } from './subprotocols.js';

export type RouteForm = 'lambda' | 'e2b-host' | 'e2b-headers';

export interface Route {
  form: RouteForm;
  microvmId: string;
  port: number;
}

const ID = /^[a-z0-9]+$/;
const E2B_LABEL = /^(\d{1,5})-([a-z0-9]+)$/;

export function routeRequest(headers: IncomingHttpHeaders, subprotocols: string[], domain: string, defaultPort: number): Route {
  const host = hostName(headers.host);
  // Header routing also at the gateway's bare address (E2B_SANDBOX_URL=http://127.0.0.1:8480):
  // the sandbox is named by the headers alone, and envd still needs its access token.
  if (host === domain || (isAddressHost(host) && headers['e2b-sandbox-id'] !== undefined)) {
    const id = single(headers['e2b-sandbox-id']);
    if (id === undefined) throw unknownHost();
    if (!ID.test(id)) throw new CubbyError('GATEWAY_UNKNOWN_HOST', 'bad E2b-Sandbox-Id');
    return { form: 'e2b-headers', microvmId: id, port: parsePort(single(headers['e2b-sandbox-port']), 'E2b-Sandbox-Port') };
  }
  const suffix = `.${domain}`;
  if (!host.endsWith(suffix)) throw unknownHost();
  const label = host.slice(0, -suffix.length);
  if (ID.test(label)) return { form: 'lambda', microvmId: label, port: lambdaPort(headers, subprotocols, defaultPort) };
  const e2b = E2B_LABEL.exec(label);
  if (e2b) return { form: 'e2b-host', microvmId: e2b[2] as string, port: parsePort(e2b[1], 'host name port') };
  throw unknownHost();
}

function lambdaPort(headers: IncomingHttpHeaders, subprotocols: string[], defaultPort: number): number {
  const header = single(headers['x-aws-proxy-port']);
  const proto = subprotocolValue(subprotocols, PORT_SUBPROTOCOL_PREFIX);
  if (header !== undefined && proto !== undefined && header !== proto) {
    throw new CubbyError('GATEWAY_BAD_PORT', 'X-aws-proxy-port and the port subprotocol disagree');
  }
  const raw = header ?? proto;
  return raw === undefined ? defaultPort : parsePort(raw, header !== undefined ? 'X-aws-proxy-port' : 'port subprotocol');
}

function parsePort(raw: string | undefined, what: string): number {
  if (raw === undefined || !/^\d{1,5}$/.test(raw)) throw new CubbyError('GATEWAY_BAD_PORT', `missing or bad ${what}`);
  const n = Number(raw);
  if (n < 1 || n > 65535) throw new CubbyError('GATEWAY_BAD_PORT', `${what} out of range`);
  return n;
}

/** An IP literal or `localhost`: a Host that names no sandbox, so E2B headers may. */
function isAddressHost(host: string): boolean {
  return host === 'localhost' || /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || (host.startsWith('[') && host.endsWith(']'));
}

/** Host header without its port, lower-cased, without a trailing dot. */
function hostName(host: string | undefined): string {
  if (!host) return '';
  const h = host.trim().toLowerCase();
  const colon = h.lastIndexOf(':');
  const name = colon >= 0 && !h.endsWith(']') ? h.slice(0, colon) : h;
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** A header that must appear once; repeated values are refused rather than guessed. */
function single(v: string | string[] | undefined): string | undefined {
  if (Array.isArray(v)) {
    if (v.length !== 1) throw new CubbyError('CUBBY_VALIDATION', 'routing header repeated');
    return v[0];
  }
  return v === undefined ? undefined : v.trim();
}

function unknownHost(): CubbyError {
  return new CubbyError('GATEWAY_UNKNOWN_HOST', 'no endpoint at this host name');
}
