/**
 * E2B's data-plane credentials, checked by the gateway (the agent in the sandbox trusts its
 * callers): the agent's port needs X-Access-Token or, for /files, a signed URL; a sandbox's other
 * ports are public unless it (or the operator) asks for E2B-Traffic-Access-Token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { CubbyError } from '../errors/index.js';
import type { TargetInfo } from './targets.js';
import { CODE_INTERPRETER_EXECUTE_PATH, CODE_INTERPRETER_PORT } from '../core/images/code-interpreter.js';

/** Where the in-sandbox agent (E2B's envd) listens. */
export const ENVD_PORT = 49983;

export const ACCESS_TOKEN_HEADER = 'x-access-token';
export const TRAFFIC_TOKEN_HEADER = 'e2b-traffic-access-token';

export interface E2bAccessRequest {
  e2b: NonNullable<TargetInfo['e2b']>;
  port: number;
  method: string;
  /** The request target as sent (path and query). */
  url: string;
  headers: IncomingHttpHeaders;
  /** A Cubby endpoint token (x-aws-proxy-auth) for this microVM and port was already verified. */
  cubbyTokenValid: boolean;
  /** Operator setting: every sandbox's own ports need the traffic token. */
  requireTrafficToken: boolean;
  now?: () => number;
}

/** Throws the error to answer with when the request may not reach the sandbox. */
export function checkE2bAccess(r: E2bAccessRequest): void {
  if (r.port === ENVD_PORT) {
    checkEnvdAccess(r);
    return;
  }
  // A Cubby endpoint token is a credential the sandbox's owner minted for these ports: enough.
  if (r.cubbyTokenValid) return;
  // The code interpreter's /execute runs code as the sandbox's user, like the agent's commands:
  // the client sends the access token there, so it is required (then the port's own rules apply).
  if (r.port === CODE_INTERPRETER_PORT && new URL(r.url, 'http://gateway').pathname === CODE_INTERPRETER_EXECUTE_PATH) {
    const given = headerValue(r.headers[ACCESS_TOKEN_HEADER]);
    if (given === undefined) throw new CubbyError('AUTH_MISSING', 'missing X-Access-Token');
    if (!sameSecret(given, r.e2b.envdAccessToken)) throw new CubbyError('TOKEN_INVALID', 'invalid X-Access-Token');
  }
  if (!r.requireTrafficToken && r.e2b.allowPublicTraffic) return;
  const given = headerValue(r.headers[TRAFFIC_TOKEN_HEADER]);
  if (given === undefined) throw new CubbyError('AUTH_MISSING', 'missing E2B-Traffic-Access-Token');
  if (r.e2b.trafficAccessToken === undefined || !sameSecret(given, r.e2b.trafficAccessToken)) {
    throw new CubbyError('TOKEN_INVALID', 'invalid E2B-Traffic-Access-Token');
  }
}

/**
 * The agent's port runs commands as the sandbox's user, so only the envd access token opens it
 * (a Cubby endpoint token does not): in the header, or as a signature over a /files URL.
 */
function checkEnvdAccess(r: E2bAccessRequest): void {
  const header = headerValue(r.headers[ACCESS_TOKEN_HEADER]);
  if (header !== undefined) {
    if (!sameSecret(header, r.e2b.envdAccessToken)) throw new CubbyError('TOKEN_INVALID', 'invalid X-Access-Token');
    return;
  }
  const url = new URL(r.url, 'http://gateway');
  const signature = url.searchParams.get('signature');
  const operation = r.method === 'GET' || r.method === 'HEAD' ? 'read' : r.method === 'POST' ? 'write' : undefined;
  if (signature !== null && url.pathname === '/files' && operation !== undefined) {
    checkSignature(url.searchParams, signature, operation, r.e2b.envdAccessToken, r.now ?? Date.now);
    return;
  }
  throw new CubbyError('AUTH_MISSING', 'missing X-Access-Token');
}

/** E2B's signed /files URLs: "v1_" + base64(sha256("path:op:user:token[:expiration]")), unpadded. */
export function fileSignature(path: string, operation: 'read' | 'write', username: string, token: string, expiration?: number): string {
  const raw = `${path}:${operation}:${username}:${token}${expiration !== undefined ? `:${expiration}` : ''}`;
  return `v1_${createHash('sha256').update(raw).digest('base64').replace(/=+$/, '')}`;
}

function checkSignature(q: URLSearchParams, signature: string, operation: 'read' | 'write', token: string, now: () => number): void {
  const rawExp = q.get('signature_expiration');
  let expiration: number | undefined;
  if (rawExp !== null && rawExp !== '') {
    if (!/^\d{1,15}$/.test(rawExp)) throw new CubbyError('TOKEN_INVALID', 'invalid signature_expiration');
    expiration = Number(rawExp);
    // Worded exactly as E2B's envd words it; clients match on it.
    if (expiration < Math.floor(now() / 1000)) throw new CubbyError('TOKEN_EXPIRED', 'signature is already expired');
  }
  const expected = fileSignature(q.get('path') ?? '', operation, q.get('username') ?? '', token, expiration);
  if (!sameSecret(signature, expected)) throw new CubbyError('TOKEN_INVALID', 'invalid signature');
}

/** Constant-time comparison of two secrets of any length (hashed first, so lengths do not leak). */
function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  if (Array.isArray(v)) return v.length === 1 ? v[0]?.trim() : undefined;
  return v?.trim();
}
