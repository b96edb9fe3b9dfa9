/**
 * Console sessions, kept in memory: a restart signs everyone out, which is the safe side (no
 * session secrets at rest). The cookie carries only a random id; the CSRF token is a second
 * random value the page holds in memory and sends as a header on every state change.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Tenant } from '../../core/model.js';

export type Principal =
  | { kind: 'tenant'; tenant: Tenant; via: 'access-key' | 'e2b-key'; /** the access key or E2B key id signed in with */ keyId?: string }
  | { kind: 'operator' };

export interface ConsoleSession {
  id: string;
  csrf: string;
  principal: Principal;
  expiresAt: number;
}

export const DEFAULT_SESSION_SECONDS = 8 * 3600;
const MAX_SESSIONS = 10_000;

export class ConsoleSessions {
  private readonly byId = new Map<string, ConsoleSession>();

  constructor(
    readonly ttlSeconds = DEFAULT_SESSION_SECONDS,
    private readonly now: () => number = Date.now,
  ) {}

  create(principal: Principal, ttlSeconds = this.ttlSeconds): ConsoleSession {
    this.sweep();
    if (this.byId.size >= MAX_SESSIONS) this.byId.delete(this.byId.keys().next().value as string);
    const s = { id: token(), csrf: token(), principal, expiresAt: this.now() + ttlSeconds * 1000 };
    this.byId.set(s.id, s);
    return s;
  }

  /** The live session with this id; an expired one is dropped and reported absent. */
  get(id: string | undefined): ConsoleSession | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.now()) {
      this.byId.delete(id);
      return undefined;
    }
    return s;
  }

  /** Ends a session at once (sign-out, or an operator ending it). */
  expire(id: string): void {
    this.byId.delete(id);
  }

  /** Ends every session signed in with a key (it was revoked). */
  expireKey(keyId: string): void {
    for (const [id, s] of this.byId) if (s.principal.kind === 'tenant' && s.principal.keyId === keyId) this.byId.delete(id);
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.byId) if (s.expiresAt <= now) this.byId.delete(id);
  }
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function token(): string {
  return randomBytes(32).toString('base64url');
}
