/**
 * Authenticates a request signed with AWS Signature Version 4 (what the official client sends):
 * the key must be known, the date within 5 minutes of ours, the signature must match the one we
 * recompute with the key's secret, and the same signature is accepted only once.
 */
import { timingSafeEqual } from 'node:crypto';
import { CubbyError } from '../../../errors/index.js';
import type { Caller } from '../../../core/services.js';
import { formatAmzDate, parseAmzDate, parseAuthorization } from './authorization-header.js';
import { ReplayCache } from './replay-cache.js';
import { computeSignature } from './sigv4-signature.js';
import type { LookupKey, LookupSession, ReceivedRequest } from './types.js';

/** The signing name the official client uses for this API (`signingProperties.name`). */
export const SIGNING_SERVICE = 'lambda';
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export interface SigV4AuthenticatorOptions {
  lookupKey: LookupKey;
  /** Session credentials (X-Amz-Security-Token); absent: refused as unknown keys. */
  lookupSession?: LookupSession;
  now?: () => number;
  /** Live signatures remembered per tenant (replay-cache.ts); default 10 000. */
  replayCacheSize?: number;
  /** Tenants the replay cache tracks at once; default 1 000. */
  replayCacheTenants?: number;
}

function single(headers: ReceivedRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class SigV4Authenticator {
  private readonly lookupKey: LookupKey;
  private readonly lookupSession: LookupSession | undefined;
  private readonly now: () => number;
  private readonly replay: ReplayCache;

  constructor(opts: SigV4AuthenticatorOptions) {
    this.lookupKey = opts.lookupKey;
    this.lookupSession = opts.lookupSession;
    this.now = opts.now ?? Date.now;
    this.replay = new ReplayCache({
      ...(opts.replayCacheSize !== undefined ? { perTenant: opts.replayCacheSize } : {}),
      ...(opts.replayCacheTenants !== undefined ? { maxTenants: opts.replayCacheTenants } : {}),
    });
  }

  async authenticate(req: ReceivedRequest): Promise<Caller> {
    const header = single(req.headers, 'authorization');
    if (header === undefined || header.trim() === '') {
      if ('X-Amz-Signature' in req.query) {
        throw new CubbyError('AUTH_MALFORMED', 'Pre-signed (query string) requests are not supported; sign the Authorization header.');
      }
      throw new CubbyError('AUTH_MISSING', 'Missing Authentication Token');
    }
    const auth = parseAuthorization(header);
    if (auth.service !== SIGNING_SERVICE) {
      throw new CubbyError('AUTH_BAD_SIGNATURE', `Credential should be scoped to correct service: '${SIGNING_SERVICE}'.`);
    }
    for (const required of ['host', 'x-amz-date']) {
      if (!auth.signedHeaders.includes(required)) {
        throw new CubbyError('AUTH_MALFORMED', `SignedHeaders must include '${required}'.`);
      }
    }
    const amzDate = single(req.headers, 'x-amz-date') ?? '';
    const signingDate = parseAmzDate(amzDate);
    if (!signingDate) throw new CubbyError('AUTH_MALFORMED', 'x-amz-date must have the form yyyymmddThhmmssZ.');
    if (auth.scopeDate !== amzDate.slice(0, 8)) {
      throw new CubbyError(
        'AUTH_BAD_SIGNATURE',
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.scopeDate}' != '${amzDate.slice(0, 8)}'.`,
      );
    }
    this.checkClock(signingDate);

    const key = await this.findKey(req, auth);

    const computed = await computeSignature(req, auth, key.secretAccessKey, signingDate);
    const same =
      computed.signedHeaders === auth.signedHeaders.join(';') &&
      timingSafeEqual(Buffer.from(computed.signature, 'hex'), Buffer.from(auth.signature, 'hex'));
    if (!same) {
      throw new CubbyError(
        'AUTH_BAD_SIGNATURE',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      );
    }
    const verdict = this.replay.remember(key.tenant.id, auth.signature, signingDate.getTime() + MAX_CLOCK_SKEW_MS, this.now());
    if (verdict.outcome === 'replayed') {
      throw new CubbyError('AUTH_REPLAYED', 'This request signature has already been used; sign every request afresh.');
    }
    if (verdict.outcome === 'full') {
      const whose = verdict.scope === 'tenant' ? 'this account' : 'all accounts together';
      throw new CubbyError(
        'THROTTLED',
        `Rate exceeded: too many requests from ${whose} within the 5-minute signature window; retry later.`,
        {
          details: { retryAfterSeconds: Math.ceil(verdict.retryAfterMs / 1000), reason: `replay-cache-${verdict.scope}-full` },
        },
      );
    }
    return key.session ? { tenant: key.tenant, session: key.session } : { tenant: key.tenant };
  }

  /** A long-term access key, or a microVM's session credential when a security token is sent. */
  private async findKey(
    req: ReceivedRequest,
    auth: ReturnType<typeof parseAuthorization>,
  ): Promise<{ secretAccessKey: string; tenant: Caller['tenant']; session?: Caller['session'] }> {
    const token = single(req.headers, 'x-amz-security-token');
    if (token !== undefined) {
      // Signed, so a captured request cannot be replayed with another token.
      if (!auth.signedHeaders.includes('x-amz-security-token')) {
        throw new CubbyError('AUTH_MALFORMED', "SignedHeaders must include 'x-amz-security-token' when it is sent.");
      }
      if (!this.lookupSession) throw new CubbyError('AUTH_UNKNOWN_KEY', 'The security token included in the request is invalid.');
      return this.lookupSession(auth.accessKeyId, token);
    }
    const key = await this.lookupKey(auth.accessKeyId);
    if (!key) throw new CubbyError('AUTH_UNKNOWN_KEY', 'The security token included in the request is invalid.');
    return key;
  }

  /** Messages follow AWS's: the client treats "Signature expired" as a clock-skew error and retries. */
  private checkClock(signingDate: Date): void {
    const now = this.now();
    const t = signingDate.getTime();
    if (t < now - MAX_CLOCK_SKEW_MS) {
      throw new CubbyError(
        'AUTH_EXPIRED',
        `Signature expired: ${formatAmzDate(signingDate)} is now earlier than ${formatAmzDate(new Date(now - MAX_CLOCK_SKEW_MS))} (${formatAmzDate(new Date(now))} - 5 min.)`,
      );
    }
    if (t > now + MAX_CLOCK_SKEW_MS) {
      throw new CubbyError(
        'AUTH_EXPIRED',
        `Signature not yet current: ${formatAmzDate(signingDate)} is still later than ${formatAmzDate(new Date(now + MAX_CLOCK_SKEW_MS))} (${formatAmzDate(new Date(now))} + 5 min.)`,
      );
    }
  }
}
