/**
 * The policy clock: suspends idle microVMs, terminates those suspended too long or past their
 * maximum duration, and forgets old TERMINATED records. Deadlines are computed from stored
 * times, so they hold across daemon restarts.
 */
import type { Microvm } from '../model.js';
import type { Store } from '../ports/store.js';
import type { Logger } from '../ports/observer.js';
import type { SandboxRuntime } from '../ports/runtime.js';
import type { MicrovmManager } from './manager.js';
import type { LifecycleSteps } from './lifecycle-steps.js';
import { POLICY_STATES } from './state-machine.js';
import { isCubbyError } from '../../errors/index.js';

export interface SchedulerConfig {
  tickMs: number;
  /** How often RUNNING microVMs are checked for a sandbox that stopped (its app exited or was killed). */
  livenessMs?: number;
  /** How long TERMINATED records stay queryable. */
  terminatedRetentionMs: number;
}

export class PolicyScheduler {
  private timer: NodeJS.Timeout | undefined;
  private readonly busy = new Set<string>();
  private lastGc = 0;
  private lastLiveness = 0;
  private ticking = false;

  constructor(
    private readonly d: {
      store: Store;
      manager: MicrovmManager;
      runtime: SandboxRuntime;
      log: Logger;
      now?: () => Date;
      config: SchedulerConfig;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.d.config.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private now(): number {
    return (this.d.now?.() ?? new Date()).getTime();
  }

  /** One pass over every live microVM. Exposed for tests. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const live = await this.d.store.listMicrovmsByState(POLICY_STATES);
      for (const m of live) this.check(m);
      // The disk tier: frozen microVMs go to disk while host memory is short.
      await this.d.manager.tiers.relieve(live);
      if (this.now() - this.lastLiveness > (this.d.config.livenessMs ?? 5000)) {
        this.lastLiveness = this.now();
        await this.liveness(live.filter((m) => m.state === 'RUNNING'));
      }
      if (this.now() - this.lastGc > 60_000) {
        this.lastGc = this.now();
        await this.gc();
      }
    } catch (e) {
      this.d.log.error({ err: String(e) }, 'policy tick failed');
    } finally {
      this.ticking = false;
    }
  }

  private check(m: Microvm): void {
    const mgr = this.d.manager;
    // Re-checked on the record read under the lock: the deadline may have moved meanwhile.
    const expired = (cur: Microvm) => this.now() - cur.startedAt.getTime() >= cur.maximumDurationSeconds * 1000;
    const reason = `maximum duration of ${m.maximumDurationSeconds} s reached`;
    const deadline = m.onMaximumDuration;
    if (!deadline && expired(m)) return this.act(m, expired, (s) => s.terminate(reason));
    // A renewable deadline only runs while RUNNING (a suspended one waits for its resume).
    if (deadline && m.state === 'RUNNING' && expired(m)) {
      if (deadline.action === 'terminate') return this.act(m, expired, (s) => s.terminate(reason));
      return this.act(m, expired, async (s) => {
        try {
          await s.suspend(reason);
        } catch (e) {
          // Over the suspended quota it stays RUNNING (nothing lost); the next tick tries again.
          if (!isCubbyError(e) || e.kind !== 'quota') throw e;
          this.d.log.warn({ microvmId: m.id, tenantId: m.tenantId, err: e.message }, 'suspend at the deadline refused by quota');
        }
      });
    }
    const p = m.idlePolicy;
    if (!p) return;
    const idle = () => mgr.activity.idleMs(m.id) >= p.maxIdleDurationSeconds * 1000;
    if (m.state === 'RUNNING' && idle()) {
      if (p.suspendedDurationSeconds === 0)
        return this.act(m, idle, (s) => s.terminate(`idle for ${p.maxIdleDurationSeconds} s (suspendedDurationSeconds is 0)`));
      // The frozen tier: SUSPENDED but held in memory (a thaw resumes it), unless memory is short.
      if (mgr.tiers.holdsInMemory(m)) return this.act(m, idle, (s) => mgr.tiers.hold(s, m, `idle for ${p.maxIdleDurationSeconds} s`));
      return this.act(m, idle, async (s) => {
        try {
          await s.suspend(`idle for ${p.maxIdleDurationSeconds} s`);
        } catch (e) {
          // Over the suspended quota: it stays RUNNING (nothing was changed, no state lost); try
          // again after another idle period rather than on every tick.
          if (!isCubbyError(e) || e.kind !== 'quota') throw e;
          mgr.activity.reset(m.id);
          this.d.log.warn(
            { microvmId: m.id, tenantId: m.tenantId, err: e.message },
            'idle suspend refused by quota; the microVM stays RUNNING',
          );
        }
      });
    }
    if (mgr.tiers.dueToFreeze(m))
      return this.act(
        m,
        (cur) => mgr.tiers.dueToFreeze(cur),
        (s) => mgr.tiers.freeze(s, m),
      );
    const suspendedTooLong = () =>
      Boolean(m.suspendedAt) && this.now() - (m.suspendedAt?.getTime() ?? 0) >= p.suspendedDurationSeconds * 1000;
    if (m.state === 'SUSPENDED' && suspendedTooLong()) {
      return this.act(m, suspendedTooLong, (s) => s.terminate(`suspended for ${p.suspendedDurationSeconds} s`));
    }
  }

  /**
   * Runs one policy action per microVM at a time, under its lifecycle lock, and only if the
   * microVM is still in the same state and the action still due (a request may have arrived).
   */
  private act(m: Microvm, stillDue: (cur: Microvm) => boolean, fn: (steps: LifecycleSteps) => Promise<unknown>): void {
    if (this.busy.has(m.id)) return;
    this.busy.add(m.id);
    void this.d.manager
      .withLock(m.id, async (steps) => {
        const cur = await this.d.store.getMicrovmAny(m.id);
        if (!cur || cur.state !== m.state || !stillDue(cur)) return;
        await fn(steps);
      })
      .catch((e: unknown) => this.d.log.warn({ microvmId: m.id, err: String(e) }, 'policy action failed'))
      .finally(() => this.busy.delete(m.id));
  }

  /**
   * A RUNNING microVM whose sandbox stopped (the app's main process exited or was killed, or
   * the sandbox died) is terminated with the reason, not left RUNNING until some timer fires.
   * One `list` call per pass, so the cost does not grow with the number of microVMs.
   */
  private async liveness(running: Microvm[]): Promise<void> {
    if (running.length === 0) return;
    // If the runtime cannot say, do nothing: terminating on a guess would lose a live session.
    const states = new Map((await this.d.runtime.list()).map((s) => [s.id, s.state]));
    for (const m of running) {
      const st = states.get(m.id);
      if (st !== 'stopped') continue;
      this.act(
        m,
        () => true,
        async (s) => {
          const info = await this.d.runtime.get(m.id);
          if (info?.state !== 'stopped') return; // re-checked under the lock: it may have been a resume in flight
          // The runtime's cause when it can tell (out of memory, the app's exit code, a signal).
          await s.terminate(
            info.exitReason ? `the sandbox stopped: ${info.exitReason}` : 'the app exited or was killed (the sandbox stopped)',
          );
        },
      );
    }
  }

  private async gc(): Promise<void> {
    const cutoff = this.now() - this.d.config.terminatedRetentionMs;
    for (const m of await this.d.store.listMicrovmsByState(['TERMINATED'])) {
      if ((m.terminatedAt?.getTime() ?? 0) < cutoff) await this.d.store.deleteMicrovm(m.id).catch(() => undefined);
    }
  }
}
