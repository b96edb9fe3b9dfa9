/**
 * The microVM service: launch, suspend, resume, terminate on behalf of a tenant, gated by the
 * state machine (state-machine.ts) and serialised per microVM. The steps themselves
 * (lifecycle-steps.ts) are reachable only under a microVM's lock, through withLock.
 */
import { createHash } from 'node:crypto';
import type { Microvm, MicrovmState, Page, PageRequest } from '../model.js';
import type { Caller, MicrovmsService, RunMicrovmInput } from '../services.js';
import type { Store } from '../ports/store.js';
import type { EgressAudit, NetworkPort } from '../ports/network.js';
import { CubbyError, errors } from '../../errors/index.js';
import { KeyedMutex } from '../../util/keyed-mutex.js';
import { ActivityTracker } from './activity.js';
import { resolveLaunchTarget } from './targets.js';
import type { LaunchTarget } from '../launch/launcher.js';
import type { QuotaService } from '../quotas/service.js';
import { Admission } from './admission.js';
import { checkpointDir } from './checkpoints.js';
import { LifecycleSteps, type LifecycleDeps, type MicrovmPorts } from './lifecycle-steps.js';
import { DEFAULT_IDLE_TIERS, IdleTiers, type IdleTierConfig } from './idle-tiers.js';
import type { HostMemoryPort } from '../ports/host.js';

export interface MicrovmConfig {
  /** Where suspend checkpoints live: <root>/<id>/{current,next}. */
  checkpointRoot: string;
  /** Most microVMs holding a sandbox (PENDING/RUNNING/SUSPENDING) at once on this host. */
  maxActive: number;
  defaultMaximumDurationSeconds: number;
  /** The frozen and disk tiers of idle microVMs (idle-tiers.ts); absent: DEFAULT_IDLE_TIERS. */
  idleTiers?: IdleTierConfig;
}

export interface MicrovmDeps extends MicrovmPorts {
  now?: () => Date;
  config: MicrovmConfig;
  /** Per-tenant quotas; absent: only the host-wide maxActive applies. */
  quotas?: QuotaService;
  /** Where egress audits come from; absent: none. */
  network?: Pick<NetworkPort, 'egressAudit'>;
  /** The host's free memory, for the disk tier's watermark; absent: frozen microVMs go to disk only at shutdown. */
  hostMemory?: HostMemoryPort;
}

export class MicrovmManager implements MicrovmsService {
  readonly activity: ActivityTracker;
  readonly tiers: IdleTiers;
  private readonly locks = new KeyedMutex();
  private readonly admission: Admission;
  private readonly lifecycle: LifecycleDeps;

  constructor(private readonly d: MicrovmDeps) {
    const now = d.now ?? (() => new Date());
    this.activity = new ActivityTracker(() => now().getTime());
    this.admission = new Admission({ store: d.store, maxActive: d.config.maxActive, quotas: d.quotas });
    this.tiers = new IdleTiers({
      ...d,
      activity: this.activity,
      admission: this.admission,
      now,
      checkpointRoot: d.config.checkpointRoot,
      config: d.config.idleTiers ?? DEFAULT_IDLE_TIERS,
      withLock: (id, fn) => this.withLock(id, fn),
    });
    this.lifecycle = {
      store: d.store,
      runtime: d.runtime,
      hooks: d.hooks,
      disk: d.disk,
      launcher: d.launcher,
      log: d.log,
      observer: d.observer,
      now,
      admission: this.admission,
      activity: this.activity,
      checkpointRoot: d.config.checkpointRoot,
      tiers: this.tiers,
    };
  }

  checkpointDir(id: string, which: 'current' | 'next'): string {
    return checkpointDir(this.d.disk, this.d.config.checkpointRoot, id, which);
  }

  /**
   * Runs fn under the microVM's lock, with the lifecycle steps of that microVM: the only way to
   * reach them (the scheduler, reconcile and this service's own calls go through here).
   */
  withLock<T>(id: string, fn: (steps: LifecycleSteps) => Promise<T>): Promise<T> {
    return this.locks.run(id, () => fn(new LifecycleSteps(this.lifecycle, id)));
  }

  // ---- queries

  async get(caller: Caller, id: string): Promise<Microvm> {
    const m = await this.d.store.getMicrovm(caller.tenant.id, id);
    if (!m) throw errors.microvmNotFound(id);
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
      maxResults: page.maxResults,
      nextToken: page.nextToken,
      imageId,
      version: page.version,
      states: page.states as MicrovmState[] | undefined,
    });
  }

  async egressAudit(caller: Caller, id: string): Promise<EgressAudit> {
    const m = await this.get(caller, id);
    if (m.state !== 'RUNNING') throw errors.microvmNotRunning(id, m.state, 'egress audits');
    const address = await this.d.runtime.address(id);
    const audit = address && this.d.network?.egressAudit ? await this.d.network.egressAudit(address) : undefined;
    // The network of a sandbox this process does not serve (or a driver with no resolver).
    if (!audit) throw new CubbyError('MICROVM_BAD_STATE', `microVM ${id} has no egress audit on this host`);
    return audit;
  }

  async logs(caller: Caller, id: string): Promise<Buffer> {
    const m = await this.get(caller, id);
    if (m.state !== 'RUNNING') throw errors.microvmNotRunning(id, m.state, 'logs');
    return this.d.runtime.logs(id);
  }

  // ---- lifecycle

  /**
   * Launch storms: bounded, fair between tenants, refused with a retry hint past the queue's bound
   * (launch-gate.ts). A launch that a ready warm-pool clone serves restores nothing: it takes no
   * slot and never waits behind cold restores (if the clone is gone by its admission, it queues).
   */
  async run(caller: Caller, input: RunMicrovmInput): Promise<Microvm> {
    const target = await resolveLaunchTarget(this.d.store, caller.tenant.id, { image: input.image, version: input.version });
    if (this.d.launcher.hasReady(target, input.egress ?? target.egress)) {
      const pooled = await this.runInTurn(caller, input, target);
      if (pooled) return pooled;
    }
    // Resolved again once admitted: a queued launch may wait while the image gets a new version.
    return this.d.launcher.gate.run(caller.tenant.id, async () => {
      const m = await this.runInTurn(caller, input);
      if (!m) throw new CubbyError('RUNTIME_RESTORE_FAILED', 'launch admitted without a sandbox'); // not reached: only pooled launches stop early
      return m;
    });
  }

  /** With `pooled` (the target, resolved just now): only if a pooled clone is leased, else nothing is recorded and undefined comes back. */
  private async runInTurn(
    caller: Caller,
    input: RunMicrovmInput,
    pooled?: LaunchTarget & { memoryMiB: number },
  ): Promise<Microvm | undefined> {
    const tenantId = caller.tenant.id;
    const target = pooled ?? (await resolveLaunchTarget(this.d.store, tenantId, { image: input.image, version: input.version }));
    const egress = input.egress ?? target.egress;
    const max = input.maximumDurationSeconds ?? this.d.config.defaultMaximumDurationSeconds;
    const idemKey = input.clientToken ? { tenantId, operation: 'RunMicrovm', clientToken: input.clientToken } : undefined;
    // Check and PENDING record in one admission step: a concurrent launch sees this one's record.
    const admitted = await this.admission.run(async () => {
      // A replay answers what the first call recorded; it takes no new slot.
      if (!(idemKey && (await this.d.store.getIdempotency(idemKey)))) {
        await this.admission.checkHostCapacity();
        await this.d.quotas?.checkLaunch(tenantId, target.memoryMiB);
      }
      const lease = this.d.launcher.lease(target, egress);
      if (pooled && !lease.sandbox) return undefined;
      const now = this.lifecycle.now();
      const insert = (t: Pick<Store, 'insertMicrovm'>) =>
        t.insertMicrovm({
          id: lease.id,
          tenantId,
          imageId: target.imageId,
          imageVersion: target.version,
          state: 'PENDING',
          idlePolicy: input.idlePolicy,
          maximumDurationSeconds: max,
          onMaximumDuration: input.onMaximumDuration,
          runHookPayload: input.runHookPayload,
          egress,
          extra: input.extra ?? {},
          startedAt: now,
          lastActivityAt: now,
          stateChangedAt: now,
        });
      try {
        if (idemKey) {
          const hash = createHash('sha256')
            .update(JSON.stringify({ ...input, clientToken: undefined }))
            .digest('hex');
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
    if (!admitted) return undefined;
    const { lease, replayOf } = admitted;
    if (replayOf !== undefined) {
      if (lease.sandbox) await this.d.runtime.destroy(lease.sandbox.id).catch(() => undefined);
      return this.get(caller, replayOf);
    }
    return this.withLock(lease.id, (s) => s.launch(lease, target, egress, input.runHookPayload));
  }

  async suspend(caller: Caller, id: string, reason = 'suspended by request'): Promise<Microvm> {
    await this.get(caller, id);
    return this.withLock(id, (s) => s.suspend(reason));
  }

  async resume(caller: Caller, id: string): Promise<Microvm> {
    await this.get(caller, id);
    return this.withLock(id, (s) => s.resume());
  }

  /**
   * The gateway's fast path for a RUNNING microVM frozen while idle: a thaw under its lock, no
   * store read. False when it is not (or no longer) frozen: then ensureRunning.
   */
  async thawIfFrozen(id: string): Promise<boolean> {
    if (!this.tiers.isFrozenRunning(id)) return false;
    return this.withLock(id, async () => {
      if (!this.tiers.isFrozenRunning(id)) return false;
      await this.tiers.wake(id);
      return true;
    });
  }

  /** The gateway's auto-resume: same as resume, on behalf of whoever owns the microVM. */
  async ensureRunning(id: string): Promise<Microvm> {
    return this.withLock(id, async (s) => {
      const m = await this.d.store.getMicrovmAny(id);
      if (!m) throw errors.microvmNotFound(id);
      if (m.state === 'RUNNING') {
        await this.tiers.wake(id); // the frozen tier: a thaw (milliseconds)
        return m;
      }
      return s.resume();
    });
  }

  async setMaximumDuration(caller: Caller, id: string, seconds: number): Promise<Microvm> {
    if (!Number.isInteger(seconds) || seconds < 1) {
      throw new CubbyError('CUBBY_VALIDATION', `maximum duration must be a positive whole number of seconds, got ${seconds}`);
    }
    await this.get(caller, id);
    // Under the lock: a terminate in flight must not be raced into a record that looks live.
    return this.withLock(id, async () => {
      const m = await this.d.store.getMicrovmAny(id);
      if (!m) throw errors.microvmNotFound(id);
      if (m.state === 'TERMINATING' || m.state === 'TERMINATED') {
        throw new CubbyError('MICROVM_BAD_STATE', `microVM ${id} is ${m.state}`, { details: { current: m.state } });
      }
      return this.d.store.updateMicrovm(id, { maximumDurationSeconds: seconds });
    });
  }

  async terminate(caller: Caller, id: string, reason = 'terminated by request'): Promise<Microvm> {
    await this.get(caller, id);
    return this.withLock(id, (s) => s.terminate(reason));
  }
}
