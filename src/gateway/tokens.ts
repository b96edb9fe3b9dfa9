/**
 * MicroVM endpoint tokens: compact, url-safe and usable inside a WebSocket subprotocol.
 *
 *   cb1.<keyId>.<claims>.<signature>
 *
 * claims is base64url JSON { m: microvmId, t: tenantId, k: 'e'|'s' (endpoint|shell),
 * p: '*' | [[from,to],...], i: issued (epoch s), x: expires (epoch s) }; signature is base64url
 * HMAC-SHA256 of everything before it, under the key named by keyId (see key-ring.ts).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { PortRange } from '../core/ports/network.js';
import { CubbyError } from '../errors/index.js';
import { KeyRing, type KeyRingOptions } from './key-ring.js';

export type TokenKind = 'endpoint' | 'shell';
export type AllowedPorts = PortRange[] | 'all';

export interface TokenClaims {
  microvmId: string;
  tenantId: string;
  kind: TokenKind;
  allowedPorts: AllowedPorts;
  issuedAt: Date;
  expiresAt: Date;
  keyId: string;
}

/** What the gateway needs: checks a token for one request; throws a CubbyError when refused. */
export interface TokenVerifier {
  verify(token: string, microvmId: string, port: number, kind: TokenKind): TokenClaims;
}

const PREFIX = 'cb1';
const MAX_TOKEN_LENGTH = 4096;
const MAX_PORT_RANGES = 64;
const ID_PATTERN = /^[a-z0-9]+$/;
const SEGMENT = /^[A-Za-z0-9_-]+$/;

const claimsSchema = z.object({
  m: z.string().regex(ID_PATTERN),
  t: z.string(),
  k: z.enum(['e', 's']),
  p: z.union([z.literal('*'), z.array(z.tuple([z.number().int(), z.number().int()])).max(MAX_PORT_RANGES)]),
  i: z.number().int(),
  x: z.number().int(),
});
type WireClaims = z.infer<typeof claimsSchema>;

// Verified tokens are remembered (a client reuses its token for many requests), so a repeat
// costs a map lookup instead of an HMAC and a parse. Bounded; a dropped key still invalidates.
const CACHE_LIMIT = 4096;

export class TokenService implements TokenVerifier {
  private readonly now: () => number;
  private readonly verified = new Map<string, TokenClaims>();

  constructor(
    readonly ring: KeyRing,
    opts: { now?: () => number } = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  mint(
    microvmId: string,
    tenantId: string,
    allowedPorts: AllowedPorts,
    expiresInMinutes: number,
    kind: TokenKind,
  ): { token: string; expiresAt: Date } {
    if (!ID_PATTERN.test(microvmId)) throw new CubbyError('CUBBY_VALIDATION', 'microVM id must match ^[a-z0-9]+$');
    if (!Number.isInteger(expiresInMinutes) || expiresInMinutes < 1 || expiresInMinutes > 60) {
      throw new CubbyError('CUBBY_VALIDATION', 'expiresInMinutes must be an integer from 1 to 60');
    }
    if (allowedPorts !== 'all') {
      if (allowedPorts.length === 0 || allowedPorts.length > MAX_PORT_RANGES) {
        throw new CubbyError('CUBBY_VALIDATION', `allowedPorts must hold 1 to ${MAX_PORT_RANGES} entries`);
      }
      for (const r of allowedPorts) {
        if (!isPort(r.from) || !isPort(r.to) || r.from > r.to) {
          throw new CubbyError('CUBBY_VALIDATION', `bad port range ${r.from}-${r.to}`);
        }
      }
    }
    const issued = Math.floor(this.now() / 1000);
    const claims: WireClaims = {
      m: microvmId,
      t: tenantId,
      k: kind === 'shell' ? 's' : 'e',
      p: allowedPorts === 'all' ? '*' : allowedPorts.map((r) => [r.from, r.to]),
      i: issued,
      x: issued + expiresInMinutes * 60,
    };
    const key = this.ring.current();
    const unsigned = `${PREFIX}.${key.id}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const sig = createHmac('sha256', key.secret).update(unsigned).digest('base64url');
    return { token: `${unsigned}.${sig}`, expiresAt: new Date(claims.x * 1000) };
  }

  verify(token: string, microvmId: string, port: number, kind: TokenKind): TokenClaims {
    let claims = this.verified.get(token);
    if (!claims || !this.ring.find(claims.keyId)) {
      claims = this.authenticate(token);
      if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
      this.verified.set(token, claims);
    }
    // One message for every "not yours" case, so a token probes nothing about other microVMs.
    if (claims.microvmId !== microvmId || claims.kind !== kind) throw invalid();
    if (this.now() >= claims.expiresAt.getTime()) throw new CubbyError('TOKEN_EXPIRED', 'token expired');
    if (!portAllowed(claims.allowedPorts, port)) {
      throw new CubbyError('TOKEN_PORT_DENIED', `token does not allow port ${port}`, { details: { port } });
    }
    return claims;
  }

  /** Checks the signature and decodes the claims, without judging them. */
  private authenticate(token: string): TokenClaims {
    if (token.length > MAX_TOKEN_LENGTH) throw invalid();
    const parts = token.split('.');
    if (parts.length !== 4 || parts[0] !== PREFIX || !parts.every((p) => SEGMENT.test(p) || p === PREFIX)) throw invalid();
    const [, keyId, body, sig] = parts as [string, string, string, string];
    const key = this.ring.find(keyId);
    if (!key) throw invalid();
    const expected = createHmac('sha256', key.secret).update(`${PREFIX}.${keyId}.${body}`).digest();
    const given = Buffer.from(sig, 'base64url');
    // Lenient base64 decoding would accept several spellings of one signature: insist on one.
    if (given.length !== expected.length || given.toString('base64url') !== sig) throw invalid();
    if (!timingSafeEqual(given, expected)) throw invalid();
    let wire: WireClaims;
    try {
      wire = claimsSchema.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
    } catch {
      throw invalid();
    }
    return {
      microvmId: wire.m,
      tenantId: wire.t,
      kind: wire.k === 's' ? 'shell' : 'endpoint',
      allowedPorts: wire.p === '*' ? 'all' : wire.p.map(([from, to]) => ({ from, to })),
      issuedAt: new Date(wire.i * 1000),
      expiresAt: new Date(wire.x * 1000),
      keyId,
    };
  }
}

/** Opens the key ring from its store, starts its rotation timer, and returns the service. */
export async function openTokenService(
  opts: KeyRingOptions & { onError?: (e: unknown) => void },
): Promise<{ tokens: TokenService; close(): void }> {
  const ring = await KeyRing.open(opts);
  ring.start(opts.onError);
  return { tokens: new TokenService(ring, opts.now ? { now: opts.now } : {}), close: () => ring.stop() };
}

function portAllowed(allowed: AllowedPorts, port: number): boolean {
  return allowed === 'all' || allowed.some((r) => port >= r.from && port <= r.to);
}

function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

function invalid(): CubbyError {
  return new CubbyError('TOKEN_INVALID', 'invalid token');
}
