/**
 * Launch storms: at most `concurrency` launches run at once; the rest wait in a fair queue
 * (round robin between tenants, FIFO within one), and past a bound (host-wide or per tenant) a
 * launch is refused at once with LAUNCH_THROTTLED and a retry hint, never left to time out.
 * Background work (warm-pool refills) only gets a slot when no launch waits.
 */
import { CubbyError } from '../../errors/index.js';
import { FairQueue } from '../quotas/fair-queue.js';

export interface LaunchLimits {
  /** Launches (restore + run hook) in flight at once, refills included. */
  concurrency: number;
  /** Launches waiting for a slot, all tenants together, before new ones are refused. */
  maxQueued: number;
  /** Launches one tenant may have waiting before its new ones are refused. */
  maxQueuedPerTenant: number;
  /** Least time between two warm-pool refill starts (the rate the host sustains besides launches). */
  refillIntervalMs: number;
  /**
   * Pooled clones on the host, all versions together (at least one pool's worth): deep pools
   * (for storms) only for so many versions (each frozen spare holds its memory, ~26 MiB for a
   * small app). Refills stop at it.
   */
  maxPooled: number;
}

export const DEFAULT_LAUNCH_LIMITS: LaunchLimits = {
  concurrency: 4,
  maxQueued: 100,
  maxQueuedPerTenant: 25,
  refillIntervalMs: 250,
  maxPooled: 64,
};

export class LaunchGate {
  private readonly queue: FairQueue;
  private inFlight = 0;
  /** A running estimate of one launch's time, for the retry hint. */
  private avgMs = 500;
  private readonly released = new Set<() => void>();

  /** The queue bounds and refill pace are read at each use (an operator may change them live); concurrency is fixed. */
  constructor(readonly limits: LaunchLimits) {
    this.queue = new FairQueue(limits.concurrency);
  }

  /** Launches in flight (holding a slot) and waiting. */
  stats(tenantId?: string): { inFlight: number; queued: number } {
    return { inFlight: Math.min(this.inFlight, this.limits.concurrency), queued: this.queue.queued(tenantId) };
  }

  /** True when a slot is free and no launch waits: background work may start now. */
  quiet(): boolean {
    return this.inFlight < this.limits.concurrency && this.queue.queued() === 0;
  }

  /** Called whenever a slot frees (the refill pump listens). */
  onRelease(fn: () => void): void {
    this.released.add(fn);
  }

  /** Runs a tenant's launch in its turn; refuses it at once when the queue is past its bound. */
  async run<T>(tenantId: string, fn: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.limits.concurrency) this.refuseIfFull(tenantId);
    return this.enter(tenantId, fn, true);
  }

  /** Background work: starts only if quiet() (false otherwise, and nothing runs). */
  tryBackground(fn: () => Promise<void>): boolean {
    if (!this.quiet()) return false;
    void this.enter('\u0000background', fn, false).catch(() => undefined);
    return true;
  }

  private refuseIfFull(tenantId: string): void {
    const all = this.queue.queued();
    const mine = this.queue.queued(tenantId);
    if (all < this.limits.maxQueued && mine < this.limits.maxQueuedPerTenant) return;
    const tenantFull = mine >= this.limits.maxQueuedPerTenant;
    // Time for the queue ahead to drain through the slots, at the recent launch time.
    const retryAfterSeconds = Math.max(1, Math.ceil(((all + 1) / this.limits.concurrency) * (this.avgMs / 1000)));
    throw new CubbyError(
      'LAUNCH_THROTTLED',
      tenantFull
        ? `too many launches queued for this account (${mine}, at most ${this.limits.maxQueuedPerTenant}); retry in ${retryAfterSeconds} s`
        : `too many launches queued on this host (${all}, at most ${this.limits.maxQueued}); retry in ${retryAfterSeconds} s`,
      {
        details: {
          retryAfterSeconds,
          queued: tenantFull ? mine : all,
          limit: tenantFull ? this.limits.maxQueuedPerTenant : this.limits.maxQueued,
        },
      },
    );
  }

  private async enter<T>(key: string, fn: () => Promise<T>, timed: boolean): Promise<T> {
    this.inFlight++;
    try {
      return await this.queue.run(key, async () => {
        const t0 = Date.now();
        try {
          return await fn();
        } finally {
          if (timed) this.avgMs = 0.8 * this.avgMs + 0.2 * (Date.now() - t0);
        }
      });
    } finally {
      this.inFlight--;
      for (const f of this.released) f();
    }
  }
}
