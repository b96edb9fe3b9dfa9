/**
 * The microVM lifecycle: launch, suspend, resume, terminate, gated by the state machine
 * (state-machine.ts) and serialised per microVM. Every step is recorded before and after it
 * runs, so a daemon restart (reconcile.ts) can finish or undo whatever was in flight.
 */
import { createHash } from 'node:crypto';
import type { Microvm, MicrovmState, Page, PageRequest } from '../model.js';
import type { Caller, MicrovmsService, RunMicrovmInput } from '../services.js';
import type { Store, MicrovmTransition } from '../ports/store.js';
import type { SandboxRuntime } from '../ports/runtime.js';
import type { HooksPort } from '../ports/hooks.js';
import type { DiskPort } from '../ports/disk.js';
import type { CoreObserver, Logger } from '../ports/observer.js';
import { CubbyError, asCubbyError, isCubbyError } from '../../errors/index.js';
import { KeyedMutex } from '../../util/keyed-mutex.js';
import { FROM } from './state-machine.js';
import { ActivityTracker } from './activity.js';
import { Launcher, type LaunchTarget } from '../launch/launcher.js';
import { hookTimeoutMs } from '../hooks.js';
import { resolveLaunchTarget } from './targets.js';
import type { QuotaService } from '../quotas/service.js';

export interface MicrovmConfig {
  /** Where suspend checkpoints live: <root>/<id>/{current,next}. */
  checkpointRoot: string;
  /** Most microVMs holding a sandbox (PENDING/RUNNING/SUSPENDING) at once on this host. */
  maxActive: number;
  defaultMaximumDurationSeconds: number;
}

export interface MicrovmDeps {
  store: Store;
  runtime: SandboxRuntime;
  hooks: HooksPort;
  disk: DiskPort;
  launcher: Launcher;
  log: Logger;
  observer?: CoreObserver;
  now?: () => Date;
  config: MicrovmConfig;
  /** Per-tenant quotas; absent: only the host-wide maxActive applies. */
  quotas?: QuotaService;
}

export class MicrovmManager implements MicrovmsService {
  readonly activity: ActivityTracker;
  private readonly locks = new KeyedMutex();
  private readonly now: () => Date;

  constructor(private readonly d: MicrovmDeps) {
    this.now = d.now ?? (() => new Date());
    this.activity = new ActivityTracker(() => this.now().getTime());
  }

  checkpointDir(id: string, which: 'current' | 'next'): string {
    return this.d.disk.join(this.d.config.checkpointRoot, id, which);
  }

  // ---- queries

  async get(caller: Caller, id: string): Promise<Microvm> {
    const m = await this.d.store.getMicrovm(caller.tenant.id, id);
    if (!m) throw new CubbyError('MICROVM_NOT_FOUND', `microVM ${id} not found`);
    return m;
  }

  async list(caller: Caller, page: PageRequest & { image?: string; version?: string; states?: string[] }): Promise<Page<Microvm>> {
    let imageId: string | undefined;
    if (page.image) {
      const img = await this.d.store.getImageByName(caller.tenant.id, page.image);
      if (!img) return { items: [] };
      imageId = img.id;
    }
    return this.d.store.listMicrovms(caller.tenant.id, {
      maxResults: page.maxResults, nextToken: page.nextToken, imageId, version: page.version,
      states: page.states as MicrovmState[] | undefined,
    });
  }

  async logs(caller: Caller, id: string): Promise<Buffer> {
    const m = await this.get(caller, id);
    if (m.state !== 'RUNNING') throw new CubbyError('MICROVM_BAD_STATE', `microVM ${id} is ${m.state}; logs are read from a running microVM`);
    return this.d.runtime.logs(id);
  }

  // ---- launch

  async run(caller: Caller, input: RunMicrovmInput): Promise<Microvm> {
    const tenantId = caller.tenant.id;
    const target = await resolveLaunchTarget(this.d.store, tenantId, input.image, input.version);
    const egress = input.egress ?? target.egress;
    const max = input.maximumDurationSeconds ?? this.d.config.defaultMaximumDurationSeconds;
    const idemKey = input.clientToken ? { tenantId, operation: 'RunMicrovm', clientToken: input.clientToken } : undefined;
    // Check and PENDING record in one admission step: a concurrent launch sees this one's record.
    const admitted = await this.admit(async () => {
      // A replay answers what the first call recorded; it takes no new slot.
      if (!(idemKey && await this.d.store.getIdempotency(idemKey))) {
        await this.checkHostCapacity();
        await this.d.quotas?.checkLaunch(tenantId, target.memoryMiB);
      }
      const lease = this.d.launcher.lease(target, egress);
      const now = this.now();
      const insert = (t: Pick<Store, 'insertMicrovm'>) => t.insertMicrovm({
        id: lease.id, tenantId, imageId: target.imageId, imageVersion: target.version, state: 'PENDING',
        idlePolicy: input.idlePolicy, maximumDurationSeconds: max, runHookPayload: input.runHookPayload, egress,
        extra: input.extra ?? {}, startedAt: now, lastActivityAt: now, stateChangedAt: now,
      });
      try {
        if (idemKey) {
          const hash = createHash('sha256').update(JSON.stringify({ ...input, clientToken: undefined })).digest('hex');
          const r = await this.d.store.idempotent(idemKey, hash, async (t) => (await insert(t)).id);
          if (r.replayed) return { lease, replayOf: r.resultRef };
        } else {
          await insert(this.d.store);
        }
      } catch (e) {
        if (lease.sandbox) await this.d.runtime.destroy(lease.sandbox.id).catch(() => undefined);
        throw e;
      }
      return { lease };
    });
    const { lease, replayOf } = admitted;
    if (replayOf !== undefined) {
      if (lease.sandbox) await this.d.runtime.destroy(lease.sandbox.id).catch(() => undefined);
      return this.get(caller, replayOf);
    }
    return this.locks.run(lease.id, () => this.launch(lease, target, egress, input.runHookPayload, caller));
  }

  /** Admission steps run one at a time (see QuotaService.admit). */
  private admit<T>(fn: () => Promise<T>): Promise<T> {
    return this.d.quotas ? this.d.quotas.admit(fn) : this.locks.run('\u0000admission', fn);
  }

  /** The host-wide cap on microVMs holding a sandbox: the host is full, whoever asks. */
  private async checkHostCapacity(): Promise<void> {
    const active = await this.d.store.countMicrovms({ states: ['PENDING', 'RUNNING', 'SUSPENDING'] });
    if (active >= this.d.config.maxActive) {
      throw new CubbyError('HOST_CAPACITY', `insufficient capacity: this host runs its maximum of ${this.d.config.maxActive} active microVMs (${active} now); retry later`,
        { details: { limit: this.d.config.maxActive, used: active, retryAfterSeconds: 5 } });
    }
  }

  private async launch(lease: ReturnType<Launcher['lease']>, target: LaunchTarget, egress: Microvm['egress'], payload: string | undefined, caller: Caller): Promise<Microvm> {
    const started = Date.now();
    try {
      await this.d.launcher.start(target, lease, egress, payload);
    } catch (e) {
      const err = asCubbyError(e, 'RUNTIME_RESTORE_FAILED');
      await this.transition(lease.id, FROM.launchDone, { state: 'TERMINATED', stateReason: `launch failed: ${err.message}`, terminatedAt: this.now() }).catch(() => undefined);
      throw err;
    }
    this.activity.reset(lease.id);
    const m = await this.transition(lease.id, FROM.launchDone, { state: 'RUNNING', stateReason: null });
    this.d.observer?.launched?.({ microvmId: m.id, tenantId: caller.tenant.id, ms: Date.now() - started, pooled: Boolean(lease.sandbox) });
    return m;
  }

  // ---- suspend / resume

  async suspend(caller: Caller, id: string, reason = 'suspended by request'): Promise<Microvm> {
    await this.get(caller, id);
    return this.locks.run(id, () => this.doSuspend(id, reason));
  }

  /** RUNNING -> SUSPENDING -> SUSPENDED. If the checkpoint fails the microVM stays RUNNING and says why. */
  async doSuspend(id: string, reason: string): Promise<Microvm> {
    const started = Date.now();
    const prev = await this.d.store.getMicrovmAny(id);
    // Over the suspended quota the microVM is refused here, before anything changed: still RUNNING.
    const m = await this.admit(async () => {
      if (prev?.state === 'RUNNING') await this.d.quotas?.checkSuspend(prev.tenantId);
      return this.transition(id, FROM.suspend, { state: 'SUSPENDING', stateReason: reason });
    });
    // Metering counts the RUNNING period that ends here, from the record as it was before.
    const runningFor = prev ? this.secondsIn(prev, this.now()) : 0;
    const next = this.checkpointDir(id, 'next');
    const current = this.checkpointDir(id, 'current');
    let paused = false;
    try {
      const target = await resolveLaunchTarget(this.d.store, m.tenantId, undefined, m.imageVersion, m.imageId).catch(() => undefined);
      if (target?.hooks.enabled.suspend) {
        const addr = await this.d.runtime.address(id);
        if (addr) await this.d.hooks.call({ address: addr, port: target.hooks.port, hook: 'suspend', timeoutMs: hookTimeoutMs(target.hooks, 'suspend') });
      }
      await this.d.disk.remove(next);
      // Freeze first so nothing changes between the checkpoint and the teardown.
      await this.d.runtime.pause(id);
      paused = true;
      const ck = await this.d.runtime.checkpoint(id, next, { leaveRunning: true });
      await this.d.disk.replace(next, current);
      // The memory pages' digest is computed at the checkpoint's final place, in the background.
      void this.d.runtime.sealCheckpoint(current).catch(() => undefined);
      this.activity.forget(id);
      const now = this.now();
      // The session is safe on disk from here: record SUSPENDED, then release the sandbox (runsc
      // takes over a second to reap a sandbox) while still holding the microVM's lock.
      const done = await this.transition(id, FROM.suspendDone, {
        state: 'SUSPENDED', stateReason: reason, checkpointPath: current, suspendedAt: now,
        runningSeconds: m.runningSeconds + runningFor,
      });
      this.d.observer?.suspended?.({ microvmId: id, tenantId: m.tenantId, ms: Date.now() - started, bytes: ck.sizeBytes });
      await this.d.runtime.destroy(id).catch((e: unknown) => this.d.log.warn({ microvmId: id, err: String(e) }, 'releasing a suspended sandbox failed; the sweep will retry'));
      return done;
    } catch (e) {
      const err = asCubbyError(e, 'MICROVM_SUSPEND_FAILED');
      await this.d.disk.remove(next).catch(() => undefined);
      if (paused) await this.d.runtime.resume(id).catch(() => undefined);
      await this.transition(id, FROM.suspendDone, {
        state: 'RUNNING', stateReason: `suspend failed, still running: ${err.message}`, runningSeconds: m.runningSeconds + runningFor,
      }).catch(() => undefined);
      this.activity.reset(id);
      throw new CubbyError('MICROVM_SUSPEND_FAILED', `suspend of ${id} failed; it is still RUNNING: ${err.message}`, { cause: e });
    }
  }

  async resume(caller: Caller, id: string): Promise<Microvm> {
    await this.get(caller, id);
    return this.locks.run(id, () => this.doResume(id));
  }

  /** The gateway's auto-resume: same as resume, on behalf of whoever owns the microVM. */
  async ensureRunning(id: string): Promise<Microvm> {
    return this.locks.run(id, async () => {
      const m = await this.d.store.getMicrovmAny(id);
      if (!m) throw new CubbyError('MICROVM_NOT_FOUND', `microVM ${id} not found`);
      if (m.state === 'RUNNING') return m;
      return this.doResume(id);
    });
  }

  /** SUSPENDED -> PENDING -> RUNNING. If the restore fails it stays SUSPENDED (checkpoint kept) and says why. */
  async doResume(id: string): Promise<Microvm> {
    const started = Date.now();
    const prev = await this.d.store.getMicrovmAny(id);
    // Refused before anything changed: it stays SUSPENDED with its checkpoint.
    const m = await this.admit(async () => {
      if (prev?.state === 'SUSPENDED') {
        await this.checkHostCapacity();
        const q = this.d.quotas;
        if (q) await q.checkResume(prev.tenantId, await q.versionMemory(prev.tenantId, prev.imageId, prev.imageVersion));
      }
      return this.transition(id, FROM.resume, { state: 'PENDING', stateReason: 'resuming' });
    });
    const suspendedFor = prev ? this.secondsIn(prev, this.now()) : 0;
    try {
      if (!m.checkpointPath) throw new CubbyError('RUNTIME_CHECKPOINT_MISSING', 'no checkpoint recorded');
      // A sandbox left over from a suspend whose release failed would block the id.
      if (await this.d.runtime.get(id)) await this.d.runtime.destroy(id).catch(() => undefined);
      const s = await this.d.runtime.restore({ id, checkpointDir: m.checkpointPath, egress: m.egress });
      try {
        const target = await resolveLaunchTarget(this.d.store, m.tenantId, undefined, m.imageVersion, m.imageId).catch(() => undefined);
        if (target?.hooks.enabled.resume) {
          await this.d.hooks.call({ address: s.address, port: target.hooks.port, hook: 'resume', timeoutMs: hookTimeoutMs(target.hooks, 'resume') });
        }
      } catch (e) {
        await this.d.runtime.destroy(id).catch(() => undefined);
        throw e;
      }
      this.activity.reset(id);
      const done = await this.transition(id, FROM.resumeDone, {
        state: 'RUNNING', stateReason: null, checkpointPath: null, suspendedAt: null,
        suspendedSeconds: m.suspendedSeconds + suspendedFor, lastActivityAt: this.now(),
      });
      // The live sandbox is now the truth; its old checkpoint only costs disk.
      await this.d.disk.remove(this.checkpointDir(id, 'current')).catch(() => undefined);
      this.d.observer?.resumed?.({ microvmId: id, tenantId: m.tenantId, ms: Date.now() - started });
      return done;
    } catch (e) {
      const err = asCubbyError(e, 'MICROVM_RESUME_FAILED');
      await this.transition(id, FROM.resumeDone, {
        state: 'SUSPENDED', stateReason: `resume failed: ${err.message}`, suspendedSeconds: m.suspendedSeconds + suspendedFor,
      }).catch(() => undefined);
      throw new CubbyError('MICROVM_RESUME_FAILED', `resume of ${id} failed; it stays SUSPENDED: ${err.message}`, { cause: e });
    }
  }

  // ---- terminate

  async terminate(caller: Caller, id: string, reason = 'terminated by request'): Promise<Microvm> {
    await this.get(caller, id);
    return this.locks.run(id, () => this.doTerminate(id, reason));
  }

  async doTerminate(id: string, reason: string): Promise<Microvm> {
    const m = await this.d.store.getMicrovmAny(id);
    if (!m) throw new CubbyError('MICROVM_NOT_FOUND', `microVM ${id} not found`);
    if (m.state === 'TERMINATED') return m;
    const now = this.now();
    const acc = m.state === 'RUNNING' ? { runningSeconds: m.runningSeconds + this.secondsIn(m, now) }
      : m.state === 'SUSPENDED' ? { suspendedSeconds: m.suspendedSeconds + this.secondsIn(m, now) } : {};
    const t = m.state === 'TERMINATING' ? m : await this.transition(id, FROM.terminate, { state: 'TERMINATING', stateReason: reason, ...acc });
    if (m.state === 'RUNNING') {
      const target = await resolveLaunchTarget(this.d.store, m.tenantId, undefined, m.imageVersion, m.imageId).catch(() => undefined);
      const sb = await this.d.runtime.get(id);
      const addr = sb?.state === 'running' ? sb.address : undefined;
      if (target?.hooks.enabled.terminate && addr) {
        await this.d.hooks.call({ address: addr, port: target.hooks.port, hook: 'terminate', timeoutMs: hookTimeoutMs(target.hooks, 'terminate') })
          .catch((e: unknown) => this.d.log.warn({ microvmId: id, err: String(e) }, 'terminate hook failed; terminating anyway'));
      }
    }
    await this.d.runtime.destroy(id).catch((e: unknown) => {
      if (!isCubbyError(e, 'RUNTIME_NOT_FOUND')) throw e;
    });
    await this.d.disk.remove(this.d.disk.join(this.d.config.checkpointRoot, id));
    this.activity.forget(id);
    return this.transition(id, FROM.terminateDone, { state: 'TERMINATED', stateReason: t.stateReason ?? reason, terminatedAt: this.now(), checkpointPath: null });
  }

  // ---- helpers

  private secondsIn(m: Microvm, now: Date): number {
    const since = m.stateChangedAt ?? m.suspendedAt ?? m.startedAt;
    return Math.max(0, (now.getTime() - since.getTime()) / 1000);
  }

  async transition(id: string, from: readonly MicrovmState[], patch: MicrovmTransition): Promise<Microvm> {
    const before = await this.d.store.getMicrovmAny(id);
    const after = await this.d.store.transitionMicrovm(id, from, { stateChangedAt: this.now(), ...patch });
    if (before && before.state !== after.state) {
      this.d.log.info({ microvmId: id, from: before.state, to: after.state, reason: after.stateReason }, 'microVM state');
      this.d.observer?.stateChanged?.({ microvmId: id, tenantId: after.tenantId, from: before.state, to: after.state });
    }
    return after;
  }

  /** Runs fn under the microVM's lock (used by the scheduler and reconcile). */
  withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(id, fn);
  }
}
