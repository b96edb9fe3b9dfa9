/**
 * The lifecycle steps of one microVM: launch, suspend, resume, terminate, and the recorded
 * transition between two states. A step assumes nothing else acts on the microVM while it runs,
 * so a LifecycleSteps exists only inside the microVM's lock: MicrovmManager.withLock(id, fn)
 * builds one, bound to that id, and hands it to fn. Every step is recorded before and after it
 * runs, so a daemon restart (reconcile.ts) can finish or undo whatever was in flight.
 */
import type { HookName, Microvm, MicrovmState } from '../model.js';
import type { Store, MicrovmTransition } from '../ports/store.js';
import type { SandboxRuntime } from '../ports/runtime.js';
import type { HooksPort } from '../ports/hooks.js';
import type { DiskPort } from '../ports/disk.js';
import type { CoreObserver, Logger } from '../ports/observer.js';
import { CubbyError, asCubbyError, errors, isCubbyError } from '../../errors/index.js';
import type { Launcher, LaunchTarget, Lease } from '../launch/launcher.js';
import { callHookIfEnabled } from '../hooks.js';
import { FROM } from './state-machine.js';
import type { ActivityTracker } from './activity.js';
import type { Admission } from './admission.js';
import { checkpointDir } from './checkpoints.js';
import { resolveLaunchTarget } from './targets.js';
import type { IdleTiers } from './idle-tiers.js';

/** The ports (and the launcher) the microVM lifecycle works through. */
export interface MicrovmPorts {
  store: Store;
  runtime: SandboxRuntime;
  hooks: HooksPort;
  disk: DiskPort;
  launcher: Launcher;
  log: Logger;
  observer?: CoreObserver | undefined;
}

export interface LifecycleDeps extends MicrovmPorts {
  now: () => Date;
  admission: Admission;
  activity: ActivityTracker;
  checkpointRoot: string;
  /** The frozen tier: a frozen sandbox is thawed before a step needs it to answer. */
  tiers: IdleTiers;
}

export class LifecycleSteps {
  /** Only MicrovmManager.withLock builds one, with the microVM's lock held. */
  constructor(
    private readonly d: LifecycleDeps,
    readonly id: string,
  ) {}

  private checkpointDir(which: 'current' | 'next'): string {
    return checkpointDir(this.d.disk, this.d.checkpointRoot, this.id, which);
  }

  /** PENDING (recorded by the caller) -> RUNNING once the run hook answered; TERMINATED when the launch fails. */
  async launch(lease: Lease, target: LaunchTarget, egress: Microvm['egress'], payload: string | undefined): Promise<Microvm> {
    const started = Date.now();
    try {
      await this.d.launcher.start(target, lease, egress, payload);
    } catch (e) {
      const err = asCubbyError(e, 'RUNTIME_RESTORE_FAILED');
      await this.transition(FROM.launchDone, {
        state: 'TERMINATED',
        stateReason: `launch failed: ${err.message}`,
        terminatedAt: this.d.now(),
      }).catch(() => undefined);
      throw err;
    }
    this.d.activity.reset(this.id);
    const m = await this.transition(FROM.launchDone, { state: 'RUNNING', stateReason: null });
    this.d.observer?.launched?.({ microvmId: m.id, tenantId: target.tenantId, ms: Date.now() - started, pooled: Boolean(lease.sandbox) });
    return m;
  }

  /** RUNNING -> SUSPENDING -> SUSPENDED. If the checkpoint fails the microVM stays RUNNING and says why. */
  async suspend(reason: string): Promise<Microvm> {
    const { id } = this;
    const started = Date.now();
    const prev = await this.d.store.getMicrovmAny(id);
    // Over the suspended quota the microVM is refused here, before anything changed: still RUNNING.
    const m = await this.d.admission.run(async () => {
      if (prev?.state === 'RUNNING') await this.d.admission.quotas?.checkSuspend(prev.tenantId);
      return this.transition(FROM.suspend, { state: 'SUSPENDING', stateReason: reason });
    });
    // Metering counts the RUNNING period that ends here, from the record as it was before.
    const runningFor = prev ? this.secondsIn(prev, this.d.now()) : 0;
    const next = this.checkpointDir('next');
    const current = this.checkpointDir('current');
    let paused = false;
    try {
      await this.d.tiers.wakeAny(id);
      await this.versionHook(m, 'suspend', () => this.d.runtime.address(id));
      await this.d.disk.remove(next);
      // Freeze first so nothing changes between the checkpoint and the teardown.
      await this.d.runtime.pause(id);
      paused = true;
      const ck = await this.d.runtime.checkpoint(id, next, { leaveRunning: true });
      await this.d.disk.replace(next, current);
      // The memory pages' digest is computed at the checkpoint's final place, in the background.
      void this.d.runtime.sealCheckpoint(current).catch(() => undefined);
      this.d.activity.forget(id);
      const now = this.d.now();
      // The session is safe on disk from here: record SUSPENDED, then release the sandbox (runsc
      // takes over a second to reap a sandbox) while still holding the microVM's lock.
      const done = await this.transition(FROM.suspendDone, {
        state: 'SUSPENDED',
        stateReason: reason,
        checkpointPath: current,
        suspendedAt: now,
        runningSeconds: m.runningSeconds + runningFor,
      });
      this.d.observer?.suspended?.({ microvmId: id, tenantId: m.tenantId, ms: Date.now() - started, bytes: ck.sizeBytes });
      await this.d.runtime
        .destroy(id)
        .catch((e: unknown) =>
          this.d.log.warn({ microvmId: id, err: String(e) }, 'releasing a suspended sandbox failed; the sweep will retry'),
        );
      return done;
    } catch (e) {
      const err = asCubbyError(e, 'MICROVM_SUSPEND_FAILED');
      await this.d.disk.remove(next).catch(() => undefined);
      if (paused) await this.d.runtime.resume(id).catch(() => undefined);
      await this.transition(FROM.suspendDone, {
        state: 'RUNNING',
        stateReason: `suspend failed, still running: ${err.message}`,
        runningSeconds: m.runningSeconds + runningFor,
      }).catch(() => undefined);
      this.d.activity.reset(id);
      throw new CubbyError('MICROVM_SUSPEND_FAILED', `suspend of ${id} failed; it is still RUNNING: ${err.message}`, { cause: e });
    }
  }

  /** SUSPENDED -> PENDING -> RUNNING. If the restore fails it stays SUSPENDED (checkpoint kept) and says why. */
  async resume(): Promise<Microvm> {
    const { id } = this;
    const started = Date.now();
    const prev = await this.d.store.getMicrovmAny(id);
    // Held in memory (the frozen tier): a thaw, not a restore.
    if (prev && this.d.tiers.isHeld(prev)) return this.d.tiers.resumeHeld(this, prev);
    // Refused before anything changed: it stays SUSPENDED with its checkpoint.
    const m = await this.d.admission.run(async () => {
      if (prev?.state === 'SUSPENDED') {
        await this.d.admission.checkHostCapacity();
        const q = this.d.admission.quotas;
        if (q) await q.checkResume(prev.tenantId, await q.versionMemory(prev.tenantId, prev.imageId, prev.imageVersion));
      }
      return this.transition(FROM.resume, { state: 'PENDING', stateReason: 'resuming' });
    });
    const suspendedFor = prev ? this.secondsIn(prev, this.d.now()) : 0;
    try {
      if (!m.checkpointPath) throw new CubbyError('RUNTIME_CHECKPOINT_MISSING', 'no checkpoint recorded');
      // A sandbox left over from a suspend whose release failed would block the id.
      if (await this.d.runtime.get(id)) await this.d.runtime.destroy(id).catch(() => undefined);
      const s = await this.d.runtime.restore({ id, checkpointDir: m.checkpointPath, egress: m.egress });
      try {
        await this.versionHook(m, 'resume', s.address);
      } catch (e) {
        await this.d.runtime.destroy(id).catch(() => undefined);
        throw e;
      }
      this.d.activity.reset(id);
      const done = await this.transition(FROM.resumeDone, {
        ...this.renewedDeadline(m),
        state: 'RUNNING',
        stateReason: null,
        checkpointPath: null,
        suspendedAt: null,
        suspendedSeconds: m.suspendedSeconds + suspendedFor,
        lastActivityAt: this.d.now(),
      });
      // The live sandbox is now the truth; its old checkpoint only costs disk.
      await this.d.disk.remove(this.checkpointDir('current')).catch(() => undefined);
      this.d.observer?.resumed?.({ microvmId: id, tenantId: m.tenantId, ms: Date.now() - started });
      return done;
    } catch (e) {
      const err = asCubbyError(e, 'MICROVM_RESUME_FAILED');
      await this.transition(FROM.resumeDone, {
        state: 'SUSPENDED',
        stateReason: `resume failed: ${err.message}`,
        suspendedSeconds: m.suspendedSeconds + suspendedFor,
      }).catch(() => undefined);
      throw new CubbyError('MICROVM_RESUME_FAILED', `resume of ${id} failed; it stays SUSPENDED: ${err.message}`, { cause: e });
    }
  }

  /** Any live state -> TERMINATING -> TERMINATED (the terminate hook first, if the app is running). */
  async terminate(reason: string): Promise<Microvm> {
    const { id } = this;
    const m = await this.d.store.getMicrovmAny(id);
    if (!m) throw errors.microvmNotFound(id);
    if (m.state === 'TERMINATED') return m;
    const now = this.d.now();
    const acc =
      m.state === 'RUNNING'
        ? { runningSeconds: m.runningSeconds + this.secondsIn(m, now) }
        : m.state === 'SUSPENDED'
          ? { suspendedSeconds: m.suspendedSeconds + this.secondsIn(m, now) }
          : {};
    const t =
      m.state === 'TERMINATING' ? m : await this.transition(FROM.terminate, { state: 'TERMINATING', stateReason: reason, ...acc }, m.state);
    // A frozen sandbox is thawed so the terminate hook reaches the app (and the runtime can end it).
    await this.d.tiers.wakeAny(id).catch(() => undefined);
    if (m.state === 'RUNNING') {
      const sb = await this.d.runtime.get(id);
      if (sb?.state === 'running') {
        await this.versionHook(m, 'terminate', sb.address).catch((e: unknown) =>
          this.d.log.warn({ microvmId: id, err: String(e) }, 'terminate hook failed; terminating anyway'),
        );
      }
    }
    await this.d.runtime.destroy(id).catch((e: unknown) => {
      if (!isCubbyError(e, 'RUNTIME_NOT_FOUND')) throw e;
    });
    await this.d.disk.remove(this.d.disk.join(this.d.checkpointRoot, id));
    this.d.activity.forget(id);
    return this.transition(FROM.terminateDone, {
      state: 'TERMINATED',
      stateReason: t.stateReason ?? reason,
      terminatedAt: this.d.now(),
      checkpointPath: null,
    });
  }

  /**
   * Moves the microVM from one of `from` to patch.state (the store's compare-and-set), and logs
   * the change. `was`, the state it leaves, is `from` itself when that names one state; with
   * several the caller says which (it read the record under the lock), so logging costs no query.
   */
  async transition(
    from: readonly MicrovmState[],
    patch: MicrovmTransition,
    was: MicrovmState | undefined = from.length === 1 ? from[0] : undefined,
  ): Promise<Microvm> {
    const after = await this.d.store.transitionMicrovm(this.id, from, { stateChangedAt: this.d.now(), ...patch });
    if (was && was !== after.state) {
      this.d.log.info({ microvmId: this.id, from: was, to: after.state, reason: after.stateReason }, 'microVM state');
      this.d.observer?.stateChanged?.({ microvmId: this.id, tenantId: after.tenantId, from: was, to: after.state });
    }
    return after;
  }

  // ---- helpers

  /** Calls a hook of the microVM's image version if that version (still) enables it. */
  private async versionHook(m: Microvm, hook: HookName, address: string | (() => Promise<string | undefined>)): Promise<void> {
    const target = await resolveLaunchTarget(this.d.store, m.tenantId, { imageId: m.imageId, version: m.imageVersion }).catch(
      () => undefined,
    );
    await callHookIfEnabled(this.d.hooks, target?.hooks, hook, address);
  }

  /** A renewable deadline (Microvm.onMaximumDuration) is moved to at least renewSeconds from now on resume. */
  private renewedDeadline(m: Microvm): { maximumDurationSeconds?: number } {
    const p = m.onMaximumDuration;
    if (!p) return {};
    const wanted = Math.ceil((this.d.now().getTime() - m.startedAt.getTime()) / 1000 + p.renewSeconds);
    return wanted > m.maximumDurationSeconds ? { maximumDurationSeconds: wanted } : {};
  }

  private secondsIn(m: Microvm, now: Date): number {
    const since = m.stateChangedAt ?? m.suspendedAt ?? m.startedAt;
    return Math.max(0, (now.getTime() - since.getTime()) / 1000);
  }
}
