/**
 * Per-tenant quotas: the effective limits (operator defaults + the tenant's overrides from the
 * store), what the tenant uses now (store counts, checkpoint sizes on disk, uploads on disk), and
 * admission checks. Checks that must not both pass the last slot run under `admit`, one at a
 * time for the whole host, together with the step that makes the new use visible (the PENDING
 * record, the SUSPENDING transition, the build record), so a check always sees every use admitted
 * before it.
 */
import type { Store } from '../ports/store.js';
import type { DiskPort } from '../ports/disk.js';
import type { ArtifactUsagePort } from '../ports/artifacts.js';
import { KeyedMutex } from '../../util/keyed-mutex.js';
import { HAS_CHECKPOINT, HAS_SANDBOX } from '../microvms/state-machine.js';
import { checkpointOf } from '../microvms/checkpoints.js';
import { checkQuota, effectiveLimits, statusOf } from './check.js';
import type { QuotaLimits, QuotaStatus, QuotaUsage } from './types.js';

export interface QuotaDeps {
  store: Store;
  disk: DiskPort;
  /** Where suspend checkpoints live: <root>/<id>/current (see MicrovmManager). */
  checkpointRoot: string;
  defaults: QuotaLimits;
  /** Absent: uploads count as none (no uploads directory on this host). */
  artifacts?: ArtifactUsagePort;
}

export interface MicrovmUse {
  running: number;
  memoryMiB: number;
  suspended: number;
}

export class QuotaService {
  private readonly gate = new KeyedMutex();
  /** memoryMiB per image version: a version's settings never change once recorded. */
  private readonly memory = new Map<string, number>();
  /** Uploads admitted and not yet on disk, per tenant. */
  private readonly uploads = new Map<string, { count: number; bytes: number }>();

  constructor(private readonly d: QuotaDeps) {}

  get defaults(): QuotaLimits {
    return this.d.defaults;
  }

  async limits(tenantId: string): Promise<QuotaLimits> {
    return effectiveLimits(this.d.defaults, await this.d.store.getQuotaOverrides(tenantId));
  }

  /** Runs fn alone among admissions (host-wide), so check-then-record cannot race another admission. */
  admit<T>(fn: () => Promise<T>): Promise<T> {
    return this.gate.run('admission', fn);
  }

  /** Baseline memory of an image version (0 if it is gone). */
  async versionMemory(tenantId: string, imageId: string, version: string): Promise<number> {
    const key = `${imageId}@${version}`;
    let mib = this.memory.get(key);
    if (mib === undefined) {
      const v = await this.d.store.getVersion(tenantId, imageId, version);
      mib = v?.settings.memoryMiB ?? 0;
      if (v) this.memory.set(key, mib);
    }
    return mib;
  }

  async microvmUse(tenantId: string): Promise<MicrovmUse> {
    const out: MicrovmUse = { running: 0, memoryMiB: 0, suspended: 0 };
    // Running: holding a sandbox (memory). Suspended: holding or writing a checkpoint.
    for (const r of await this.d.store.countMicrovmsByVersion(tenantId, [...new Set([...HAS_SANDBOX, ...HAS_CHECKPOINT])])) {
      if (HAS_SANDBOX.includes(r.state)) {
        out.running += r.count;
        out.memoryMiB += r.count * (await this.versionMemory(tenantId, r.imageId, r.version));
      }
      if (HAS_CHECKPOINT.includes(r.state)) out.suspended += r.count;
    }
    return out;
  }

  /** Bytes on disk of the checkpoints of the tenant's SUSPENDED microVMs. */
  async checkpointBytes(tenantId: string): Promise<number> {
    let total = 0;
    let nextToken: string | undefined;
    do {
      const page = await this.d.store.listMicrovms(tenantId, {
        maxResults: 100,
        states: ['SUSPENDED'],
        ...(nextToken ? { nextToken } : {}),
      });
      for (const m of page.items) total += await this.d.disk.size(checkpointOf(this.d.disk, this.d.checkpointRoot, m));
      nextToken = page.nextToken;
    } while (nextToken);
    return total;
  }

  /** Builds recorded and not finished (queued or running). */
  async buildsInFlight(tenantId: string): Promise<number> {
    return (await this.d.store.listBuildsByState(['PENDING', 'IN_PROGRESS'])).filter((b) => b.tenantId === tenantId).length;
  }

  async artifactUse(tenantId: string): Promise<{ count: number; bytes: number }> {
    return this.d.artifacts ? this.d.artifacts.usage(tenantId) : { count: 0, bytes: 0 };
  }

  async usage(tenantId: string): Promise<QuotaUsage> {
    const [m, checkpointBytes, builds, art] = await Promise.all([
      this.microvmUse(tenantId),
      this.checkpointBytes(tenantId),
      this.buildsInFlight(tenantId),
      this.artifactUse(tenantId),
    ]);
    return {
      running: m.running,
      memoryMiB: m.memoryMiB,
      suspended: m.suspended,
      checkpointBytes,
      builds,
      artifacts: art.count,
      artifactBytes: art.bytes,
    };
  }

  /** Every quota of the tenant with its limit and current use. */
  async status(tenantId: string): Promise<QuotaStatus[]> {
    const overrides = await this.d.store.getQuotaOverrides(tenantId);
    return statusOf(effectiveLimits(this.d.defaults, overrides), await this.usage(tenantId), overrides);
  }

  // ---- admission checks (call inside `admit`, then record the new use before it returns)

  /**
   * A new microVM of memoryMiB: one more running microVM and its memory; refused too while the
   * tenant is over its suspended-count or checkpoint-bytes quota (it would only add to them).
   */
  async checkLaunch(tenantId: string, memoryMiB: number): Promise<void> {
    const limits = await this.limits(tenantId);
    const use = await this.microvmUse(tenantId);
    checkQuota('running', limits.running, use.running, 1);
    checkQuota('memoryMiB', limits.memoryMiB, use.memoryMiB, memoryMiB);
    checkQuota('suspended', limits.suspended, use.suspended, 0);
    // Listing and sizing the suspended checkpoints (under the host-wide admission) only when there are any.
    if (use.suspended > 0) checkQuota('checkpointBytes', limits.checkpointBytes, await this.checkpointBytes(tenantId), 0);
  }

  /** A suspended microVM of memoryMiB coming back: one more running microVM and its memory. */
  async checkResume(tenantId: string, memoryMiB: number): Promise<void> {
    const limits = await this.limits(tenantId);
    const use = await this.microvmUse(tenantId);
    checkQuota('running', limits.running, use.running, 1);
    checkQuota('memoryMiB', limits.memoryMiB, use.memoryMiB, memoryMiB);
  }

  /** One more suspended microVM. */
  async checkSuspend(tenantId: string): Promise<void> {
    const limits = await this.limits(tenantId);
    checkQuota('suspended', limits.suspended, (await this.microvmUse(tenantId)).suspended, 1);
  }

  /**
   * Admits one upload of up to `declaredBytes` (its Content-Length; 0 if unknown): uploads on disk
   * plus those in flight must stay within the count and bytes quotas. Returns how many bytes this
   * upload may still write (stop it there) and release(), to call once it is on disk or gone.
   */
  async reserveArtifact(tenantId: string, declaredBytes: number): Promise<{ maxBytes: number; release(): void }> {
    return this.admit(async () => {
      const limits = await this.limits(tenantId);
      const disk = await this.artifactUse(tenantId);
      const flying = this.uploads.get(tenantId) ?? { count: 0, bytes: 0 };
      checkQuota('artifacts', limits.artifacts, disk.count + flying.count, 1);
      checkQuota('artifactBytes', limits.artifactBytes, disk.bytes + flying.bytes, Math.max(declaredBytes, 1));
      const maxBytes = limits.artifactBytes - disk.bytes - flying.bytes;
      const held = Math.max(declaredBytes, 0);
      this.uploads.set(tenantId, { count: flying.count + 1, bytes: flying.bytes + held });
      let released = false;
      return {
        maxBytes,
        release: () => {
          if (released) return;
          released = true;
          const cur = this.uploads.get(tenantId);
          if (!cur) return;
          if (cur.count <= 1) this.uploads.delete(tenantId);
          else this.uploads.set(tenantId, { count: cur.count - 1, bytes: cur.bytes - held });
        },
      };
    });
  }

  /** One more build (queued or running). */
  async checkBuild(tenantId: string): Promise<void> {
    const limits = await this.limits(tenantId);
    checkQuota('builds', limits.builds, await this.buildsInFlight(tenantId), 1);
  }
}
