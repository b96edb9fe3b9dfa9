/**
 * Request authentication as a list of schemes, the first that does not abstain deciding. Today
 * the gateway runs one: the Lambda MicroVMs token (X-aws-proxy-auth or the authentication
 * subprotocol); another front door's scheme would be one more entry in gateway.ts.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { CubbyError, asCubbyError } from '../errors/index.js';
import type { Route } from './route.js';
import { AUTH_SUBPROTOCOL_PREFIX, subprotocolValue } from './subprotocols.js';
import type { TokenKind, TokenVerifier } from './tokens.js';

export interface AuthRequest {
  route: Route;
  /** 'shell' for the /shell WebSocket, 'endpoint' for everything else. */
  kind: TokenKind;
  headers: IncomingHttpHeaders;
  /** Offered WebSocket subprotocols (empty for plain HTTP). */
  subprotocols: string[];
}

/**
 * 'abstain': this scheme's credentials are absent, let the next authenticator decide.
 * 'allow' may name the tenant the credentials belong to; the gateway then checks it owns the
 * target. 'deny' carries the error to answer with (401/403 by its kind).
 */
export type AuthVerdict = { outcome: 'abstain' } | { outcome: 'allow'; tenantId?: string } | { outcome: 'deny'; error: CubbyError };

export type Authenticator = (req: AuthRequest) => AuthVerdict | Promise<AuthVerdict>;

/** Runs authenticators in order; the first that does not abstain decides. None: 401. */
export async function authenticate(authenticators: readonly Authenticator[], req: AuthRequest): Promise<AuthVerdict> {
  const verdict = await firstVerdict(authenticators, req);
  if (verdict.outcome !== 'abstain') return verdict;
  return { outcome: 'deny', error: new CubbyError('AUTH_MISSING', 'missing X-aws-proxy-auth token') };
}

/** The same, but 'abstain' when no scheme's credentials are present (E2B requests carry their own). */
export async function firstVerdict(authenticators: readonly Authenticator[], req: AuthRequest): Promise<AuthVerdict> {
  for (const a of authenticators) {
    let verdict: AuthVerdict;
    try {
      verdict = await a(req);
    } catch (e) {
      verdict = { outcome: 'deny', error: asCubbyError(e, 'TOKEN_INVALID') };
    }
    if (verdict.outcome !== 'abstain') return verdict;
  }
  return { outcome: 'abstain' };
}

/** The Lambda MicroVMs scheme: a token bound to one microVM, its ports and its kind. */
export function lambdaTokenAuthenticator(tokens: TokenVerifier): Authenticator {
  return (req) => {
    const header = req.headers['x-aws-proxy-auth'];
    const token = typeof header === 'string' ? header.trim() : subprotocolValue(req.subprotocols, AUTH_SUBPROTOCOL_PREFIX);
    if (token === undefined || token === '') return { outcome: 'abstain' };
    try {
      const claims = tokens.verify(token, req.route.microvmId, req.route.port, req.kind);
      return { outcome: 'allow', tenantId: claims.tenantId };
    } catch (e) {
      return { outcome: 'deny', error: asCubbyError(e, 'TOKEN_INVALID') };
    }
  };
}
