/**
 * Session credentials of a microVM's execution role: an access key id, a secret access key and
 * a session token, as the AWS container-credentials endpoint answers them. They are stateless:
 * the token is the credential itself (its secret, tenant, microVM, role, expiry and the
 * microVM's incarnation), sealed with the store's master key and bound to the access key id, so
 * nothing is kept per credential and a daemon restart does not forget them. What makes one stop
 * working is checked at every use: its expiry, the role still existing, and the microVM still
 * RUNNING in the same incarnation it was issued in (a suspend, resume or terminate since then
 * changes the microVM's state time, so credentials copied into a checkpoint die with it).
 */
import { randomBytes } from 'node:crypto';
import { CubbyError } from '../../errors/index.js';
import type { Microvm, Tenant } from '../model.js';
import type { Store } from '../ports/store.js';
import type { SessionContext } from '../services.js';
import { EXECUTION_ROLE_MEMBER } from './service.js';

/** Lifetime of a session credential; SDKs fetch the next one minutes before it expires. */
export const DEFAULT_SESSION_TTL_MS = 15 * 60_000;

export interface SessionCredentials {
  AccessKeyId: string;
  SecretAccessKey: string;
  Token: string;
  /** ISO 8601, as the AWS SDKs parse it. */
  Expiration: string;
}

interface Sealed {
  v: 1;
  s: string;
  t: string;
  m: string;
  r: string;
  /** Expiry, epoch ms. */
  e: number;
  /** The microVM's incarnation: when its current RUNNING period began, epoch ms. */
  i: number;
}

const aad = (accessKeyId: string): string => `session:${accessKeyId}`;
const ACCESS_KEY = /^ASIA[A-Z2-7]{16}$/;

/** When the microVM's current state began: equal for every credential of one RUNNING period. */
export function incarnation(m: Microvm): number {
  return (m.stateChangedAt ?? m.startedAt).getTime();
}

export function executionRoleOf(m: Microvm): string | undefined {
  const r = m.extra[EXECUTION_ROLE_MEMBER];
  return typeof r === 'string' ? r : undefined;
}

function base32(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  for (const b of bytes) out += alphabet[b & 31];
  return out;
}

export class SessionIssuer {
  constructor(private readonly d: { store: Store; now?: () => number; ttlMs?: number }) {}

  private now(): number {
    return this.d.now?.() ?? Date.now();
  }

  /** Fresh credentials for a RUNNING microVM with its role (checked by the caller). */
  issue(m: Microvm, roleName: string): SessionCredentials {
    const accessKeyId = `ASIA${base32(randomBytes(16))}`;
    const secret = randomBytes(30).toString('base64url');
    const expires = this.now() + (this.d.ttlMs ?? DEFAULT_SESSION_TTL_MS);
    const body: Sealed = { v: 1, s: secret, t: m.tenantId, m: m.id, r: roleName, e: expires, i: incarnation(m) };
    return {
      AccessKeyId: accessKeyId,
      SecretAccessKey: secret,
      Token: this.d.store.sealSecret(JSON.stringify(body), aad(accessKeyId)),
      Expiration: new Date(expires).toISOString(),
    };
  }

  /**
   * The secret, tenant and scope of a session credential presented with a signed request (the
   * signature is checked by the caller with the secret). AUTH_SESSION_EXPIRED past its expiry or
   * once its microVM left the RUNNING period it was issued in; AUTH_SESSION_INVALID when the
   * token is not one of ours for this key, or the microVM is gone, or its role was deleted.
   */
  async verify(accessKeyId: string, token: string): Promise<{ secretAccessKey: string; tenant: Tenant; session: SessionContext }> {
    const refused = (why: string) =>
      new CubbyError('AUTH_SESSION_INVALID', `The security token included in the request is invalid: ${why}.`);
    if (!ACCESS_KEY.test(accessKeyId)) throw refused('not a session access key');
    let body: Sealed;
    try {
      body = JSON.parse(this.d.store.openSecret(token, aad(accessKeyId))) as Sealed;
    } catch {
      throw refused('the token does not belong to this access key');
    }
    if (body.e <= this.now()) {
      throw new CubbyError(
        'AUTH_SESSION_EXPIRED',
        `The security token included in the request is expired (at ${new Date(body.e).toISOString()}).`,
      );
    }
    const [m, tenant, role] = await Promise.all([
      this.d.store.getMicrovm(body.t, body.m),
      this.d.store.getTenant(body.t),
      this.d.store.getRole(body.t, body.r),
    ]);
    if (!m || !tenant || m.state === 'TERMINATING' || m.state === 'TERMINATED') throw refused(`microVM ${body.m} is terminated`);
    if (m.state !== 'RUNNING' || incarnation(m) !== body.i) {
      throw new CubbyError(
        'AUTH_SESSION_EXPIRED',
        `The security token included in the request is expired: microVM ${body.m} was suspended since it was issued; fetch fresh credentials.`,
      );
    }
    if (!role || executionRoleOf(m) !== body.r) throw refused(`role ${body.r} no longer exists`);
    return { secretAccessKey: body.s, tenant, session: { microvmId: m.id, role } };
  }
}
