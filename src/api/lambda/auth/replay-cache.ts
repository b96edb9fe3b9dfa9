/**
 * Remembers the signatures of accepted requests until their date leaves the allowed window, so a
 * captured request cannot be sent again. Bounded per tenant, so one tenant's flood can neither
 * evict another tenant's entries (which would let those be replayed) nor crowd it out:
 *   - each tenant has its own pool of at most `perTenant` live signatures;
 *   - at most `maxTenants` tenants are tracked at once (a tenant whose entries have all expired
 *     stops counting).
 * When a pool (or the tenant table) is full, the new request is refused as throttled rather than
 * making room: an entry still inside its window is never evicted, since an evicted signature
 * could be replayed until its window closes. The refusal names when room frees up (the earliest
 * expiry), and the official client retries a ThrottlingException with a fresh signature.
 */

export const DEFAULT_REPLAY_PER_TENANT = 10_000;
export const DEFAULT_REPLAY_TENANTS = 1_000;

export type ReplayVerdict =
  | { outcome: 'fresh' }
  | { outcome: 'replayed' }
  /** No room without evicting a live entry; room frees up in `retryAfterMs`. */
  | { outcome: 'full'; scope: 'tenant' | 'tenants'; retryAfterMs: number };

export interface ReplayCacheOptions {
  /** Live signatures remembered per tenant; default 10 000. */
  perTenant?: number;
  /** Tenants tracked at once; default 1 000. */
  maxTenants?: number;
}

/** One tenant's signatures, each with when it leaves the window. */
class Pool {
  readonly entries = new Map<string, number>();
  /** No entry expires before this (a lower bound; exact after a sweep). */
  earliest = Infinity;
  /** Every entry has expired after this (an upper bound). */
  latest = -Infinity;

  add(signature: string, expiresAtMs: number): void {
    this.entries.set(signature, expiresAtMs);
    this.earliest = Math.min(this.earliest, expiresAtMs);
    this.latest = Math.max(this.latest, expiresAtMs);
  }

  /** Drops expired entries; a whole pass only once something may have expired. */
  sweep(nowMs: number): void {
    if (nowMs <= this.earliest) return;
    let earliest = Infinity;
    for (const [signature, expiresAt] of this.entries) {
      if (expiresAt < nowMs) this.entries.delete(signature);
      else earliest = Math.min(earliest, expiresAt);
    }
    this.earliest = earliest;
    if (this.entries.size === 0) this.latest = -Infinity;
  }
}

export class ReplayCache {
  private readonly pools = new Map<string, Pool>();
  private readonly perTenant: number;
  private readonly maxTenants: number;

  constructor(opts: ReplayCacheOptions = {}) {
    this.perTenant = Math.max(1, opts.perTenant ?? DEFAULT_REPLAY_PER_TENANT);
    this.maxTenants = Math.max(1, opts.maxTenants ?? DEFAULT_REPLAY_TENANTS);
  }

  /** Records the tenant's signature unless it was already seen within its window or there is no room. */
  remember(tenantId: string, signature: string, expiresAtMs: number, nowMs: number): ReplayVerdict {
    let pool = this.pools.get(tenantId);
    if (!pool) {
      if (this.pools.size >= this.maxTenants) this.dropIdlePools(nowMs);
      if (this.pools.size >= this.maxTenants) {
        let soonest = Infinity;
        for (const p of this.pools.values()) soonest = Math.min(soonest, p.latest);
        return { outcome: 'full', scope: 'tenants', retryAfterMs: Math.max(1, soonest - nowMs) };
      }
      pool = new Pool();
      this.pools.set(tenantId, pool);
    }
    const seenUntil = pool.entries.get(signature);
    if (seenUntil !== undefined && seenUntil >= nowMs) return { outcome: 'replayed' };
    pool.entries.delete(signature);
    if (pool.entries.size >= this.perTenant) pool.sweep(nowMs);
    if (pool.entries.size >= this.perTenant) {
      return { outcome: 'full', scope: 'tenant', retryAfterMs: Math.max(1, pool.earliest - nowMs) };
    }
    pool.add(signature, expiresAtMs);
    return { outcome: 'fresh' };
  }

  /** Live signatures held for a tenant (after dropping expired ones). */
  size(tenantId: string, nowMs: number): number {
    const pool = this.pools.get(tenantId);
    if (!pool) return 0;
    pool.sweep(nowMs);
    return pool.entries.size;
  }

  /** Tenants currently tracked. */
  get tenants(): number {
    return this.pools.size;
  }

  /** Forgets tenants whose every entry has expired. */
  private dropIdlePools(nowMs: number): void {
    for (const [tenantId, pool] of this.pools) if (pool.latest < nowMs) this.pools.delete(tenantId);
  }
}
