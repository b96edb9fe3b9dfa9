/**
 * The idle tiers: what happens to a microVM nobody talks to.
 *
 *   frozen tier: after freezeAfterSeconds of idle the sandbox is frozen (runtime.freeze: no CPU,
 *     memory kept). Through the API it is still RUNNING; the next request thaws it (tens of ms).
 *     Once maxIdleDurationSeconds has passed it is recorded SUSPENDED ("held in memory"), so
 *     billing follows, and a resume (API or gateway) thaws it instead of restoring a checkpoint.
 *   disk tier: a frozen microVM is checkpointed to disk and its sandbox released (today's
 *     SUSPENDED) when host memory runs short (oldest idle first, memory-held ones before those
 *     still RUNNING), when maxIdle passes while memory is short, and before a daemon shutdown.
 *
 * Every step runs under the microVM's lock (MicrovmManager.withLock). A freeze decides in one
 * synchronous stretch (idle re-checked, then marked frozen), and the gateway records a request
 * before it asks isFrozen(), so a request never reaches a sandbox that is freezing unseen.
 * After a daemon restart reconcile() re-adopts frozen sandboxes (adopt()).
 */
import type { Microvm } from '../model.js';
import type { Store } from '../ports/store.js';
import type { SandboxRuntime } from '../ports/runtime.js';
import type { HooksPort } from '../ports/hooks.js';
import type { DiskPort } from '../ports/disk.js';
import type { HostMemoryPort } from '../ports/host.js';
import type { Logger } from '../ports/observer.js';
import { CubbyError, asCubbyError, isCubbyError } from '../../errors/index.js';
import { callHookIfEnabled } from '../hooks.js';
import { FROM } from './state-machine.js';
import type { ActivityTracker } from './activity.js';
import type { Admission } from './admission.js';
import type { LifecycleSteps } from './lifecycle-steps.js';
import { checkpointDir } from './checkpoints.js';
import { resolveLaunchTarget } from './targets.js';

const MiB = 1024 * 1024;
/** Two CPU samples closer than this say too little about a sandbox's load. */
const MIN_SAMPLE_MS = 250;
const MAX_SAMPLE_MS = 5000;

export interface IdleTierConfig {
  /** Host default of IdlePolicy.freezeAfterSeconds (idle seconds before a freeze); 0 = no frozen tier. */
  freezeAfterSeconds: number;
  /** Frozen microVMs go to disk while the host's available memory is below this; 0 = never for memory. */
  memoryLowWatermarkBytes: number;
  /** Checkpoint every frozen microVM to disk when the daemon stops (else they stay frozen). */
  spillOnStop: boolean;
  /** How often the memory watermark is read. Default 1000 ms. */
  memoryCheckMs?: number;
  /** Most microVMs spilled to disk per memory check. Default 4. */
  spillBatch?: number;
  /**
   * CPU (ms per second) above which a microVM without traffic still counts as working, so it is
   * not frozen: a background job keeps running until maxIdle, as it would without this tier.
   * An idle gVisor sandbox burns ~25-50 ms/s. Default 150.
   */
  busyCpuMsPerSecond?: number;
}

export const DEFAULT_IDLE_TIERS: IdleTierConfig = {
  freezeAfterSeconds: 0,
  memoryLowWatermarkBytes: 1024 * MiB,
  spillOnStop: true,
};

export const HELD_IN_MEMORY = 'held in memory (frozen); resumes in milliseconds';

export interface IdleTierDeps {
  store: Store;
  runtime: SandboxRuntime;
  hooks: HooksPort;
  disk: DiskPort;
  log: Logger;
  activity: ActivityTracker;
  admission: Admission;
  hostMemory?: HostMemoryPort | undefined;
  now: () => Date;
  checkpointRoot: string;
  config: IdleTierConfig;
  withLock<T>(id: string, fn: (steps: LifecycleSteps) => Promise<T>): Promise<T>;
}

export class IdleTiers {
  /** Frozen sandboxes of RUNNING or memory-held SUSPENDED microVMs -> since when (ms). */
  private readonly frozen = new Map<string, number>();
  /** Those of them recorded SUSPENDED (held in memory), not RUNNING. */
  private readonly held = new Set<string>();
  /** The last CPU sample of each microVM waiting to be frozen (busy check). */
  private readonly cpu = new Map<string, { cpuSeconds: number; at: number }>();
  private lastMemoryCheck = 0;
  private memoryShort = false;
  private spilling = false;

  constructor(private readonly d: IdleTierDeps) {}

  /** Frozen (or being frozen) right now: a request must wait for a thaw. Synchronous on purpose. */
  isFrozen(id: string): boolean {
    return this.frozen.has(id);
  }

  /** Frozen and recorded RUNNING: a thaw is all a request needs (no store read). */
  isFrozenRunning(id: string): boolean {
    return this.frozen.has(id) && !this.held.has(id);
  }

  private drop(id: string): void {
    this.frozen.delete(id);
    this.held.delete(id);
    this.cpu.delete(id);
  }

  /**
   * Still working without traffic (a build, a training loop, a long command)? Compares two CPU
   * samples at least MIN_SAMPLE_MS apart; the first sample only starts the measurement.
   */
  private async busy(id: string): Promise<boolean> {
    const stats = await this.d.runtime.stats(id).catch(() => undefined);
    if (!stats) return false;
    const at = this.d.now().getTime();
    const old = this.cpu.get(id);
    // A sample from before the last burst of traffic would blur the measurement: start again.
    const prev = old && at - old.at <= MAX_SAMPLE_MS ? old : undefined;
    if (prev && at - prev.at < MIN_SAMPLE_MS) return true;
    this.cpu.set(id, { cpuSeconds: stats.cpuSeconds, at });
    if (!prev) return true;
    const msPerSecond = ((stats.cpuSeconds - prev.cpuSeconds) * 1000 * 1000) / (at - prev.at);
    return msPerSecond > (this.d.config.busyCpuMsPerSecond ?? 150);
  }

  /** A SUSPENDED record whose session is a frozen sandbox, not a checkpoint. */
  isHeld(m: Microvm): boolean {
    return m.state === 'SUSPENDED' && !m.checkpointPath && this.frozen.has(m.id);
  }

  /** How many sandboxes the frozen tier holds. */
  get size(): number {
    return this.frozen.size;
  }

  /** Idle milliseconds after which `m` is frozen; undefined when it never is (no idle policy, or 0). */
  freezeAfterMs(m: Microvm): number | undefined {
    const p = m.idlePolicy;
    if (!p) return undefined;
    const s = p.freezeAfterSeconds ?? this.d.config.freezeAfterSeconds;
    if (!s) return undefined;
    return Math.min(s, p.maxIdleDurationSeconds) * 1000;
  }

  /** RUNNING, not frozen, and idle for its freeze time. */
  dueToFreeze(m: Microvm): boolean {
    const after = this.freezeAfterMs(m);
    return m.state === 'RUNNING' && after !== undefined && !this.frozen.has(m.id) && this.d.activity.idleMs(m.id) >= after;
  }

  /** At maxIdle: hold in memory (rather than checkpoint) when it has a frozen tier and memory is not short. */
  holdsInMemory(m: Microvm): boolean {
    return this.freezeAfterMs(m) !== undefined && !this.memoryShort;
  }

  /** RUNNING -> RUNNING, frozen. Under the lock; does nothing when a request arrived meanwhile or it is busy. */
  async freeze(_steps: LifecycleSteps, m: Microvm): Promise<void> {
    if (await this.busy(m.id)) return;
    const after = this.freezeAfterMs(m);
    // No await between this check and the mark: see the header.
    if (after === undefined || this.frozen.has(m.id) || this.d.activity.idleMs(m.id) < after) return;
    await this.markAndFreeze(m.id);
  }

  /** Marks `id` frozen, then freezes it; the caller checked idleness with no await before this. */
  private async markAndFreeze(id: string): Promise<void> {
    this.frozen.set(id, this.d.now().getTime());
    try {
      await this.d.runtime.freeze(id);
    } catch (e) {
      this.drop(id);
      throw e;
    }
  }

  /** Thaws if frozen (a no-op otherwise); before anything that needs the sandbox to answer. */
  async wake(id: string): Promise<void> {
    if (!this.frozen.has(id)) return;
    await this.d.runtime.thaw(id);
    this.drop(id);
  }

  /** Thaws whatever the runtime holds frozen, known or not (suspend, terminate: slow paths anyway). */
  async wakeAny(id: string): Promise<void> {
    this.drop(id);
    await this.d.runtime.thaw(id).catch((e: unknown) => {
      if (!isCubbyError(e, 'RUNTIME_NOT_FOUND')) throw e;
    });
  }

  forget(id: string): void {
    this.drop(id);
  }

  /** Reconcile found this microVM's sandbox frozen (or re-froze it): it is in the tier again. */
  adopt(id: string, held = false): void {
    this.frozen.set(id, this.d.now().getTime());
    if (held) this.held.add(id);
  }

  /**
   * RUNNING (frozen) -> SUSPENDED held in memory: maxIdle passed. Over the suspended quota it
   * stays RUNNING (frozen, nothing lost) and the idle clock starts again, as for a disk suspend.
   */
  async hold(steps: LifecycleSteps, m: Microvm, reason: string): Promise<Microvm | undefined> {
    if (!this.frozen.has(m.id)) {
      // Not frozen yet (its freeze time equals maxIdle): freeze now, unless a request came (no await in between).
      if (this.d.activity.idleMs(m.id) < (m.idlePolicy?.maxIdleDurationSeconds ?? 0) * 1000) return undefined;
      await this.markAndFreeze(m.id);
    }
    try {
      return await this.d.admission.run(async () => {
        await this.d.admission.quotas?.checkSuspend(m.tenantId);
        const now = this.d.now();
        const done = await steps.transition(FROM.hold, {
          state: 'SUSPENDED',
          stateReason: `${reason}; ${HELD_IN_MEMORY}`,
          suspendedAt: now,
          checkpointPath: null,
          runningSeconds: m.runningSeconds + secondsIn(m, now),
        });
        this.held.add(m.id);
        return done;
      });
    } catch (e) {
      if (!isCubbyError(e) || e.kind !== 'quota') throw e;
      this.d.activity.reset(m.id);
      this.d.log.warn(
        { microvmId: m.id, err: e.message },
        'holding an idle microVM as suspended refused by quota; it stays RUNNING (frozen)',
      );
      return undefined;
    }
  }

  /** SUSPENDED held in memory -> RUNNING by a thaw: the same admission as a resume from disk. */
  async resumeHeld(steps: LifecycleSteps, prev: Microvm): Promise<Microvm> {
    const { id } = steps;
    await this.d.admission.run(async () => {
      await this.d.admission.checkHostCapacity();
      const q = this.d.admission.quotas;
      if (q) await q.checkResume(prev.tenantId, await q.versionMemory(prev.tenantId, prev.imageId, prev.imageVersion));
    });
    try {
      await this.d.runtime.thaw(id);
    } catch (e) {
      // The frozen sandbox is gone (killed from outside): its memory state with it.
      this.drop(id);
      const err = asCubbyError(e, 'MICROVM_RESUME_FAILED');
      await this.d.runtime.destroy(id).catch(() => undefined);
      await steps
        .transition(FROM.thawDone, {
          state: 'TERMINATED',
          stateReason: `its sandbox held in memory was lost: ${err.message}`,
          terminatedAt: this.d.now(),
        })
        .catch(() => undefined);
      throw new CubbyError('MICROVM_RESUME_FAILED', `resume of ${id} failed: its sandbox held in memory was lost: ${err.message}`, {
        cause: e,
      });
    }
    this.drop(id);
    this.d.activity.reset(id);
    const now = this.d.now();
    return steps.transition(FROM.thawDone, {
      ...renewedDeadline(prev, now),
      state: 'RUNNING',
      stateReason: null,
      suspendedAt: null,
      suspendedSeconds: prev.suspendedSeconds + secondsIn(prev, now),
      lastActivityAt: now,
    });
  }

  /**
   * The disk tier: a frozen microVM is checkpointed and its sandbox released. A RUNNING one goes
   * through the ordinary suspend (RUNNING -> SUSPENDING -> SUSPENDED); a memory-held SUSPENDED
   * one stays SUSPENDED and gains its checkpoint. On failure it stays where it was, frozen.
   */
  async spill(steps: LifecycleSteps, m: Microvm, reason: string): Promise<Microvm> {
    const { id } = steps;
    if (m.state === 'RUNNING') {
      await this.wake(id);
      try {
        return await steps.suspend(reason);
      } catch (e) {
        // Still RUNNING (suspend says so); frozen again so it keeps costing nothing.
        await this.refreeze(id);
        throw e;
      }
    }
    if (!this.isHeld(m)) throw new CubbyError('MICROVM_BAD_STATE', `microVM ${id} is not held in memory`);
    const next = checkpointDir(this.d.disk, this.d.checkpointRoot, id, 'next');
    const current = checkpointDir(this.d.disk, this.d.checkpointRoot, id, 'current');
    await this.d.runtime.thaw(id);
    let paused = false;
    try {
      const target = await resolveLaunchTarget(this.d.store, m.tenantId, { imageId: m.imageId, version: m.imageVersion }).catch(
        () => undefined,
      );
      await callHookIfEnabled(this.d.hooks, target?.hooks, 'suspend', () => this.d.runtime.address(id));
      await this.d.disk.remove(next);
      await this.d.runtime.pause(id);
      paused = true;
      await this.d.runtime.checkpoint(id, next, { leaveRunning: true });
      await this.d.disk.replace(next, current);
      void this.d.runtime.sealCheckpoint(current).catch(() => undefined);
      const done = await steps.transition(FROM.spillDone, { state: 'SUSPENDED', stateReason: reason, checkpointPath: current });
      this.drop(id);
      this.d.activity.forget(id);
      await this.d.runtime
        .destroy(id)
        .catch((e: unknown) =>
          this.d.log.warn({ microvmId: id, err: String(e) }, 'releasing a spilled sandbox failed; the sweep will retry'),
        );
      return done;
    } catch (e) {
      await this.d.disk.remove(next).catch(() => undefined);
      if (paused) await this.d.runtime.resume(id).catch(() => undefined);
      await this.refreeze(id);
      throw new CubbyError('MICROVM_SUSPEND_FAILED', `writing ${id} to disk failed; it stays held in memory: ${asCubbyError(e).message}`, {
        cause: e,
      });
    }
  }

  private async refreeze(id: string): Promise<void> {
    try {
      await this.d.runtime.freeze(id);
      this.frozen.set(id, this.d.now().getTime());
    } catch (e) {
      // A held one stays in the tier (its session is this sandbox, thawed); a RUNNING one is retried by the clock.
      if (!this.held.has(id)) this.drop(id);
      this.d.log.warn({ microvmId: id, err: String(e) }, 'could not freeze again after a failed spill; it stays thawed');
    }
  }

  /**
   * The memory watermark, once per memoryCheckMs (from the policy tick): below it, frozen
   * microVMs are spilled to disk, memory-held SUSPENDED ones first, then the longest frozen.
   */
  async relieve(live: Microvm[]): Promise<void> {
    const c = this.d.config;
    if (!this.d.hostMemory || !c.memoryLowWatermarkBytes) return;
    const now = this.d.now().getTime();
    if (now - this.lastMemoryCheck < (c.memoryCheckMs ?? 1000)) return;
    this.lastMemoryCheck = now;
    const available = await this.d.hostMemory.availableBytes().catch(() => undefined);
    if (available === undefined) return;
    this.memoryShort = available < c.memoryLowWatermarkBytes;
    if (!this.memoryShort || this.spilling || this.frozen.size === 0) return;
    const order = (m: Microvm) => (m.state === 'SUSPENDED' ? 0 : 1);
    const candidates = live
      .filter((m) => this.frozen.has(m.id) && (m.state === 'RUNNING' || this.isHeld(m)))
      .sort((a, b) => order(a) - order(b) || (this.frozen.get(a.id) ?? 0) - (this.frozen.get(b.id) ?? 0))
      .slice(0, c.spillBatch ?? 4);
    if (candidates.length === 0) return;
    this.spilling = true;
    const mib = Math.round(available / MiB);
    void (async () => {
      for (const m of candidates) {
        await this.toDisk(m.id, `idle; written to disk because the host ran short of memory (${mib} MiB available)`);
      }
    })().finally(() => {
      this.spilling = false;
    });
  }

  /** Before the daemon stops: every frozen microVM to disk (when configured). */
  async stop(): Promise<void> {
    if (!this.d.config.spillOnStop) return;
    for (const id of [...this.frozen.keys()]) await this.toDisk(id, 'idle; written to disk before the daemon stopped');
  }

  /** Writes one frozen microVM to disk now (under its lock); does nothing when it is not frozen. */
  async toDisk(id: string, reason: string): Promise<void> {
    await this.d
      .withLock(id, async (steps) => {
        const cur = await this.d.store.getMicrovmAny(id);
        if (!cur || !this.frozen.has(id) || (cur.state !== 'RUNNING' && !this.isHeld(cur))) return;
        await this.spill(steps, cur, reason);
      })
      .catch((e: unknown) => this.d.log.warn({ microvmId: id, err: String(e) }, 'writing a frozen microVM to disk failed'));
  }
}

function secondsIn(m: Microvm, now: Date): number {
  const since = m.stateChangedAt ?? m.suspendedAt ?? m.startedAt;
  return Math.max(0, (now.getTime() - since.getTime()) / 1000);
}

/** As LifecycleSteps: a renewable deadline moves to at least renewSeconds from now on resume. */
function renewedDeadline(m: Microvm, now: Date): { maximumDurationSeconds?: number } {
  const p = m.onMaximumDuration;
  if (!p) return {};
  const wanted = Math.ceil((now.getTime() - m.startedAt.getTime()) / 1000 + p.renewSeconds);
  return wanted > m.maximumDurationSeconds ? { maximumDurationSeconds: wanted } : {};
}
