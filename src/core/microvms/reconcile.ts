/**
 * Start-up reconciliation: makes the store agree with the sandboxes that really exist after a
 * daemon restart (or crash at any lifecycle step). Running sandboxes are re-adopted, vanished
 * ones are marked with a reason, half-done steps are finished or undone, suspended sessions are
 * kept as long as their checkpoint is intact, and sandboxes nobody owns are swept.
 */
import type { Microvm } from '../model.js';
import type { Store } from '../ports/store.js';
import type { SandboxRuntime } from '../ports/runtime.js';
import type { DiskPort } from '../ports/disk.js';
import type { Logger } from '../ports/observer.js';
import type { MicrovmManager } from './manager.js';
import type { LifecycleSteps } from './lifecycle-steps.js';
import { FROM, LIVE_STATES } from './state-machine.js';

export interface ReconcileReport {
  adopted: string[];
  suspended: string[];
  terminated: string[];
  swept: string[];
}

export async function reconcile(d: {
  store: Store;
  runtime: SandboxRuntime;
  disk: DiskPort;
  manager: MicrovmManager;
  log: Logger;
}): Promise<ReconcileReport> {
  const report: ReconcileReport = { adopted: [], suspended: [], terminated: [], swept: [] };
  const { store, runtime, manager } = d;
  // Commands a killed daemon left in flight must not complete behind our back.
  await runtime.recover();
  const live = await store.listMicrovmsByState(LIVE_STATES);
  const keep = new Set<string>();

  const sandboxState = async (id: string) => (await runtime.get(id))?.state;
  const checkpointOk = async (dir: string | undefined) => {
    if (!dir) return false;
    try {
      await runtime.inspectCheckpoint(dir);
      return true;
    } catch {
      return false;
    }
  };
  const lost = async (steps: LifecycleSteps, m: Microvm, reason: string) => {
    await runtime.destroy(m.id).catch(() => undefined);
    await d.disk.remove(d.disk.join(manager.checkpointDir(m.id, 'current'), '..')).catch(() => undefined);
    await steps.transition([m.state], { state: 'TERMINATED', stateReason: reason, terminatedAt: new Date(), checkpointPath: null });
    report.terminated.push(m.id);
  };

  for (const m of live) {
    await manager.withLock(m.id, async (steps) => {
      const st = await sandboxState(m.id);
      const current = manager.checkpointDir(m.id, 'current');
      const next = manager.checkpointDir(m.id, 'next');
      switch (m.state) {
        case 'RUNNING':
          if (st === 'running') {
            keep.add(m.id);
            manager.activity.reset(m.id);
            report.adopted.push(m.id);
          } else if (st === 'frozen') {
            // The frozen tier: it stays frozen; the next request thaws it.
            keep.add(m.id);
            manager.activity.reset(m.id);
            manager.tiers.adopt(m.id);
            report.adopted.push(m.id);
          } else if (st === 'paused') {
            await runtime.resume(m.id);
            keep.add(m.id);
            manager.activity.reset(m.id);
            report.adopted.push(m.id);
          } else await lost(steps, m, 'the sandbox vanished while the daemon was down (its memory state is lost)');
          break;
        case 'SUSPENDING':
          // Crashed mid-suspend: a complete new checkpoint wins; else the sandbox goes on running.
          if (await checkpointOk(next)) {
            await d.disk.replace(next, current);
            await runtime.destroy(m.id).catch(() => undefined);
            await steps.transition(FROM.suspendDone, {
              state: 'SUSPENDED',
              checkpointPath: current,
              suspendedAt: new Date(),
              stateReason: 'suspend completed after a daemon restart',
            });
            report.suspended.push(m.id);
          } else if (st === 'running' || st === 'paused' || st === 'frozen') {
            await d.disk.remove(next);
            if (st === 'frozen') await runtime.thaw(m.id);
            if (st === 'paused') await runtime.resume(m.id);
            await steps.transition(FROM.suspendDone, {
              state: 'RUNNING',
              stateReason: 'suspend interrupted by a daemon restart; still running',
            });
            keep.add(m.id);
            manager.activity.reset(m.id);
            report.adopted.push(m.id);
          } else {
            await lost(steps, m, 'the sandbox vanished during suspend and no complete checkpoint was written');
          }
          break;
        case 'PENDING':
          if (m.checkpointPath && (await checkpointOk(m.checkpointPath))) {
            // Crashed mid-resume: the checkpoint is intact, so the session goes back to SUSPENDED.
            await runtime.destroy(m.id).catch(() => undefined);
            await steps.transition(FROM.resumeDone, { state: 'SUSPENDED', stateReason: 'resume interrupted by a daemon restart' });
            report.suspended.push(m.id);
          } else {
            await lost(steps, m, 'launch interrupted by a daemon restart');
          }
          break;
        case 'SUSPENDED':
          if (!m.checkpointPath && (st === 'frozen' || st === 'running' || st === 'paused')) {
            // Held in memory (the frozen tier), or a write to disk cut short: frozen again, kept.
            if (st === 'paused') await runtime.resume(m.id);
            // Left thawed if the freeze fails: the session is kept either way (it only costs CPU).
            if (st !== 'frozen')
              await runtime
                .freeze(m.id)
                .catch((e: unknown) => d.log.warn({ microvmId: m.id, err: String(e) }, 'could not freeze a held microVM'));
            await d.disk.remove(next).catch(() => undefined);
            keep.add(m.id);
            manager.tiers.adopt(m.id, true);
            report.suspended.push(m.id);
          } else if (!m.checkpointPath) {
            await lost(steps, m, 'its sandbox held in memory vanished while the daemon was down (its memory state is lost)');
          } else if (await checkpointOk(m.checkpointPath)) {
            report.suspended.push(m.id);
            await runtime.destroy(m.id).catch(() => undefined);
          } else {
            // Keep the record (and whatever is left of the checkpoint) so the owner sees why; resume will say so too.
            await store.updateMicrovm(m.id, { stateReason: 'its checkpoint is missing or damaged; resume will fail' });
            report.suspended.push(m.id);
          }
          break;
        case 'TERMINATING':
          await steps.terminate(m.stateReason ?? 'terminated');
          report.terminated.push(m.id);
          break;
        default:
          break;
      }
    });
  }
  const swept = await runtime.sweep((id) => keep.has(id));
  report.swept.push(...swept.sandboxes, ...swept.other);
  d.log.info({ ...report }, 'reconciled microVMs with the runtime');
  return report;
}
