/**
 * Launching a microVM from an image version's snapshot: restore a clone (its own network and
 * private writable layer), call the run hook with the microVM id and the caller's payload, and
 * only then hand it out. A warm pool of already-restored clones per version takes the restore
 * off the launch path; a pooled clone is handed out once and never again, and only once warmed
 * (see warm()). Launches pass the LaunchGate (bounded, fair per tenant); the pool is refilled
 * one clone at a time, paced, only while no launch waits for a slot, emptiest pool first, up to
 * a host-wide cap. At hand-out the observer hears the address (the gateway pre-connects).
 *
 * An idle restored sandbox still burns CPU (~27 ms/s on systrap), so a deep pool would eat the
 * CPU that launches need: only the first clone of each pool stays running (the fastest
 * hand-out); the others are frozen (cgroup freezer: no CPU, memory kept) and thawed at hand-out,
 * which costs a file write and a few ms of catching up.
 */
import type { HookSettings } from '../model.js';
import type { HooksPort } from '../ports/hooks.js';
import type { EgressPolicy } from '../ports/network.js';
import type { SandboxInfo, SandboxRuntime } from '../ports/runtime.js';
import type { CoreObserver, Logger } from '../ports/observer.js';
import { newMicrovmId } from '../ids.js';
import { callHookIfEnabled } from '../hooks.js';
import { DEFAULT_LAUNCH_LIMITS, LaunchGate, type LaunchLimits } from './launch-gate.js';

export interface LaunchTarget {
  tenantId: string;
  imageId: string;
  version: string;
  snapshotPath: string;
  hooks: HookSettings;
  egress: EgressPolicy;
}

export interface Lease {
  id: string;
  sandbox?: SandboxInfo;
  /** The pooled clone is (or may still be) frozen: start() thaws it before the run hook. */
  frozen?: boolean;
}

/** Longest a pooled clone's warming request may take before the clone is given up. */
const WARM_TIMEOUT_MS = 10_000;

function key(t: LaunchTarget): string {
  return `${t.imageId}@${t.version}`;
}
function sameEgress(a: EgressPolicy, b: EgressPolicy): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

interface Pooled {
  sandbox: SandboxInfo;
  /** Kept frozen (no CPU) until handed out or promoted to the pool's running clone. */
  frozen: boolean;
  /** Promoted: its thaw is in flight (it counts as the running clone already). */
  thawing?: Promise<void>;
}

interface Pool {
  target: LaunchTarget;
  ready: Pooled[];
  filling: number;
}

export class Launcher {
  readonly gate: LaunchGate;
  /** Tell the observer a sandbox is about to be handed out (the gateway pre-connects); turned off only to measure (bench). */
  preconnect = true;
  /** Clones kept ready per version (the daemon's --warm-pool; a bench deepens it to measure storms). */
  poolSize: number;
  private readonly pools = new Map<string, Pool>();
  private closed = false;
  /** A refill is in flight (one at a time for the whole host). */
  private refilling = false;
  private lastRefillAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly deps: {
      runtime: SandboxRuntime;
      hooks: HooksPort;
      log: Logger;
      poolSize: number;
      limits?: Partial<LaunchLimits>;
      observer?: CoreObserver;
    },
  ) {
    this.poolSize = deps.poolSize;
    this.gate = new LaunchGate({ ...DEFAULT_LAUNCH_LIMITS, ...deps.limits });
    this.gate.onRelease(() => this.pump());
  }

  /** Whether lease() would hand out a pooled clone now. */
  hasReady(target: LaunchTarget, egress: EgressPolicy): boolean {
    return this.poolSize > 0 && sameEgress(egress, target.egress) && (this.pools.get(key(target))?.ready.length ?? 0) > 0;
  }

  /** Reserves an id, and a pre-restored clone when the pool has one for this target. */
  lease(target: LaunchTarget, egress: EgressPolicy): Lease {
    const pool = this.pools.get(key(target));
    if (this.poolSize > 0 && sameEgress(egress, target.egress)) {
      if (!pool) this.pools.set(key(target), { target, ready: [], filling: 0 });
      // The running clone first; a frozen one only when none is left running.
      const i = pool
        ? Math.max(
            0,
            pool.ready.findIndex((p) => !p.frozen),
          )
        : 0;
      const taken = pool?.ready.splice(i, 1)[0];
      if (pool) this.promote(pool);
      this.pump();
      if (taken) return { id: taken.sandbox.id, sandbox: taken.sandbox, ...(taken.frozen || taken.thawing ? { frozen: true } : {}) };
    }
    return { id: newMicrovmId() };
  }

  /** Restores (unless leased from the pool) and runs the run hook. On failure nothing is left running. */
  async start(target: LaunchTarget, lease: Lease, egress: EgressPolicy, payload: string | undefined): Promise<SandboxInfo> {
    const sandbox =
      lease.sandbox ??
      (await this.deps.runtime.restore({
        id: lease.id,
        checkpointDir: target.snapshotPath,
        egress,
        labels: { image: target.imageId, version: target.version },
      }));
    try {
      if (lease.frozen) await this.deps.runtime.thaw(sandbox.id);
      this.handingOut(lease.id, sandbox.address);
      await callHookIfEnabled(this.deps.hooks, target.hooks, 'run', sandbox.address, {
        microvmId: lease.id,
        runHookPayload: payload ?? '',
      });
      return sandbox;
    } catch (e) {
      await this.deps.runtime.destroy(sandbox.id).catch(() => undefined);
      throw e;
    }
  }

  /** Lets the gateway open its first connection to the app while the run hook runs (a slow first connect otherwise). */
  private handingOut(microvmId: string, address: string): void {
    if (!this.preconnect) return;
    try {
      this.deps.observer?.handingOut?.({ microvmId, address });
    } catch (e) {
      this.deps.log.warn({ err: String(e), microvmId }, 'hand-out notice failed');
    }
  }

  /** Ids of pooled sandboxes (kept by the runtime sweep). */
  pooledIds(): string[] {
    return [...this.pools.values()].flatMap((p) => p.ready.map((s) => s.sandbox.id));
  }

  /** Drops the pool of a version (deleted or deactivated) and destroys its clones. */
  async drop(imageId: string, version?: string): Promise<void> {
    for (const [k, p] of this.pools) {
      if (p.target.imageId !== imageId || (version && p.target.version !== version)) continue;
      this.pools.delete(k);
      await Promise.all(p.ready.map((s) => this.deps.runtime.destroy(s.sandbox.id).catch(() => undefined)));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const all = [...this.pools.values()].flatMap((p) => p.ready);
    this.pools.clear();
    await Promise.all(all.map((s) => this.deps.runtime.destroy(s.sandbox.id).catch(() => undefined)));
  }

  /**
   * Starts the next refill if one is due: one at a time, at least refillIntervalMs apart, only
   * when the gate is quiet (a launch that waits gets the slot first) and while the host holds
   * fewer than maxPooled pooled clones. Called on a lease,
   * when a refill ends, when a gate slot frees and when the pacing timer fires.
   */
  private pump(): void {
    if (this.closed || this.refilling || this.timer) return;
    // The emptiest pool first (a storm drains several), and none past the host-wide cap.
    const held = (p: Pool) => p.ready.length + p.filling;
    const entries = [...this.pools.entries()];
    if (entries.reduce((n, [, p]) => n + held(p), 0) >= Math.max(this.gate.limits.maxPooled, this.poolSize)) return;
    const entry = entries.filter(([, p]) => held(p) < this.poolSize).sort(([, a], [, b]) => held(a) - held(b))[0];
    if (!entry) return;
    const wait = this.lastRefillAt + this.gate.limits.refillIntervalMs - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
      this.timer.unref?.();
      return;
    }
    const [k, pool] = entry;
    const started = this.gate.tryBackground(async () => {
      try {
        await this.refillOne(k, pool);
      } finally {
        this.refilling = false;
        this.pump();
      }
    });
    if (started) {
      this.refilling = true;
      this.lastRefillAt = Date.now();
    }
    // Not quiet: the gate calls pump() again when a slot frees.
  }

  private async refillOne(k: string, pool: Pool): Promise<void> {
    pool.filling++;
    const id = newMicrovmId();
    let sandbox: SandboxInfo | undefined;
    try {
      sandbox = await this.deps.runtime.restore({
        id,
        checkpointDir: pool.target.snapshotPath,
        egress: pool.target.egress,
        labels: { image: pool.target.imageId, version: pool.target.version, pool: 'warm' },
      });
      await this.warm(pool.target, sandbox);
    } catch (e) {
      pool.filling--;
      if (sandbox) await this.deps.runtime.destroy(sandbox.id).catch(() => undefined);
      // A broken snapshot (or an app that never answers) must not spin: stop filling this pool; launches restore directly.
      if (this.pools.get(k) === pool) this.pools.delete(k);
      this.deps.log.warn({ err: String(e), version: k }, 'warm pool refill failed; pool disabled for this version');
      return;
    }
    pool.filling--;
    if (this.closed || this.pools.get(k) !== pool) {
      await this.deps.runtime.destroy(sandbox.id).catch(() => undefined);
      return;
    }
    // A spare beside a running clone is frozen (once warmed: its pages are in); a failed freeze leaves it running.
    const spare = pool.ready.some((p) => !p.frozen);
    const frozen =
      spare &&
      (await this.deps.runtime.freeze(sandbox.id).then(
        () => true,
        () => false,
      ));
    if (this.closed || this.pools.get(k) !== pool) {
      await this.deps.runtime.destroy(sandbox.id).catch(() => undefined);
      return;
    }
    pool.ready.push({ sandbox, frozen });
    this.promote(pool);
  }

  /**
   * Keeps one clone of the pool running: when none is (the running one was handed out), the
   * oldest frozen one is thawed in the background. A lease that takes it meanwhile thaws it
   * itself (a thaw of a thawed sandbox does nothing).
   */
  private promote(pool: Pool): void {
    if (this.closed || pool.ready.some((p) => !p.frozen)) return;
    const next = pool.ready[0];
    if (!next) return;
    next.frozen = false;
    next.thawing = this.deps.runtime.thaw(next.sandbox.id).then(
      () => {
        next.thawing = undefined;
      },
      () => {
        next.thawing = undefined;
        next.frozen = true;
      },
    );
  }

  /**
   * A restored clone brings its memory in on first touch, so its first request is slow. Ask the
   * app once before it is handed out, so a launch's run hook and first request find it warm:
   * the ready hook (an idempotent probe the image already answers at build), else a TCP connect
   * to the hook port. An image with neither is pooled unwarmed.
   */
  private async warm(target: LaunchTarget, sandbox: SandboxInfo): Promise<void> {
    const h = target.hooks;
    if (h.enabled.ready) {
      await this.deps.hooks.call({ address: sandbox.address, port: h.port, hook: 'ready', timeoutMs: WARM_TIMEOUT_MS });
    } else if (Object.values(h.enabled).some(Boolean)) {
      await this.deps.hooks.waitForPort(sandbox.address, h.port, WARM_TIMEOUT_MS);
    }
  }
}
