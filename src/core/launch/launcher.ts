/**
 * Launching a microVM from an image version's snapshot: restore a clone (its own network and
 * private writable layer), call the run hook with the microVM id and the caller's payload, and
 * only then hand it out. A warm pool of already-restored clones per version takes the restore
 * off the launch path; a pooled clone is handed out once and never again.
 */
import type { HookSettings } from '../model.js';
import type { HooksPort } from '../ports/hooks.js';
import type { EgressPolicy } from '../ports/network.js';
import type { SandboxInfo, SandboxRuntime } from '../ports/runtime.js';
import type { Logger } from '../ports/observer.js';
import { newMicrovmId } from '../ids.js';
import { callHookIfEnabled } from '../hooks.js';

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
}

function key(t: LaunchTarget): string {
  return `${t.imageId}@${t.version}`;
}
function sameEgress(a: EgressPolicy, b: EgressPolicy): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class Launcher {
  private readonly pools = new Map<string, { target: LaunchTarget; ready: SandboxInfo[]; filling: number }>();
  private closed = false;

  constructor(private readonly deps: { runtime: SandboxRuntime; hooks: HooksPort; log: Logger; poolSize: number }) {}

  /** Reserves an id, and a pre-restored clone when the pool has one for this target. */
  lease(target: LaunchTarget, egress: EgressPolicy): Lease {
    const pool = this.pools.get(key(target));
    if (this.deps.poolSize > 0 && sameEgress(egress, target.egress)) {
      if (!pool) this.pools.set(key(target), { target, ready: [], filling: 0 });
      const sandbox = pool?.ready.shift();
      this.refill(key(target));
      if (sandbox) return { id: sandbox.id, sandbox };
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

  /** Ids of pooled sandboxes (kept by the runtime sweep). */
  pooledIds(): string[] {
    return [...this.pools.values()].flatMap((p) => p.ready.map((s) => s.id));
  }

  /** Drops the pool of a version (deleted or deactivated) and destroys its clones. */
  async drop(imageId: string, version?: string): Promise<void> {
    for (const [k, p] of this.pools) {
      if (p.target.imageId !== imageId || (version && p.target.version !== version)) continue;
      this.pools.delete(k);
      await Promise.all(p.ready.map((s) => this.deps.runtime.destroy(s.id).catch(() => undefined)));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.pools.values()].flatMap((p) => p.ready);
    this.pools.clear();
    await Promise.all(all.map((s) => this.deps.runtime.destroy(s.id).catch(() => undefined)));
  }

  private refill(k: string): void {
    const pool = this.pools.get(k);
    if (!pool || this.closed) return;
    while (pool.ready.length + pool.filling < this.deps.poolSize) {
      pool.filling++;
      const id = newMicrovmId();
      void this.deps.runtime
        .restore({
          id,
          checkpointDir: pool.target.snapshotPath,
          egress: pool.target.egress,
          labels: { image: pool.target.imageId, version: pool.target.version, pool: 'warm' },
        })
        .then(
          async (s) => {
            pool.filling--;
            if (this.closed || this.pools.get(k) !== pool) {
              await this.deps.runtime.destroy(s.id).catch(() => undefined);
              return;
            }
            pool.ready.push(s);
          },
          (e: unknown) => {
            pool.filling--;
            // A broken snapshot must not spin: stop filling this pool; launches restore directly.
            this.pools.delete(k);
            this.deps.log.warn({ err: String(e), version: k }, 'warm pool refill failed; pool disabled for this version');
          },
        );
    }
  }
}
