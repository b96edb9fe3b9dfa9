/** The usage service over a real SQLite store and real checkpoint files on disk. */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { nodeDisk } from '../../../src/adapters/node-disk.js';
import { UsageServiceImpl } from '../../../src/core/usage/service.js';
import { GIB, SECONDS_PER_MONTH } from '../../../src/core/usage/prices.js';
import type { SandboxRuntime } from '../../../src/core/ports/runtime.js';
import type { MicrovmInsert } from '../../../src/core/ports/store.js';
import { isCubbyError } from '../../../src/errors/index.js';
import { twoTenantStore } from '../../support/two-tenant-store.js';

const NOW = new Date('2025-06-01T12:00:00Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000);
const PRICES = { currency: 'USD', vcpuSecond: 0.001, gibSecond: 0.0001, snapshotGibMonth: 2 };
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} != ${b}`);

test('report: per microVM seconds (open period included), sizes, snapshot bytes, totals and cost; tenant scoped', async (t) => {
  const { dir, store, tenant, other, image, otherImage } = await twoTenantStore(t, 'usage', { memoryMiB: 2048, vcpus: 2 });
  await store.insertBuild({
    imageId: image.id,
    tenantId: tenant.id,
    version: '1.0',
    state: 'SUCCESSFUL',
    memorySnapshotBytes: 3 << 20,
    diskSnapshotBytes: 1 << 20,
  });

  const base = (tenantId: string, imageId: string, over: Partial<MicrovmInsert>): MicrovmInsert => ({
    tenantId,
    imageId,
    imageVersion: '1.0',
    state: 'RUNNING',
    maximumDurationSeconds: 28800,
    egress: { mode: 'closed' },
    extra: {},
    startedAt: ago(1000),
    lastActivityAt: ago(10),
    ...over,
  });
  const running = await store.insertMicrovm(
    base(tenant.id, image.id, { stateChangedAt: ago(100), runningSeconds: 50, suspendedSeconds: 30 }),
  );
  const ckRoot = path.join(dir, 'checkpoints');
  const suspendedId = 'b'.repeat(20);
  await fs.mkdir(path.join(ckRoot, suspendedId, 'current'), { recursive: true });
  await fs.writeFile(path.join(ckRoot, suspendedId, 'current', 'checkpoint.img'), Buffer.alloc(2 << 20));
  await store.insertMicrovm(
    base(tenant.id, image.id, {
      id: suspendedId,
      state: 'SUSPENDED',
      stateChangedAt: ago(600),
      suspendedAt: ago(600),
      runningSeconds: 400,
      checkpointPath: path.join(ckRoot, suspendedId, 'current'),
    }),
  );
  const old = await store.insertMicrovm(
    base(tenant.id, image.id, {
      state: 'TERMINATED',
      startedAt: ago(5000),
      terminatedAt: ago(4000),
      stateChangedAt: ago(4000),
      runningSeconds: 700,
      suspendedSeconds: 300,
    }),
  );
  const foreign = await store.insertMicrovm(base(other.id, otherImage.id, { stateChangedAt: ago(100) }));

  const runtime = { stats: async () => ({ memoryBytes: 123 << 20, cpuSeconds: 4.5 }) } as unknown as SandboxRuntime;
  const usage = new UsageServiceImpl({ store, runtime, disk: nodeDisk, checkpointRoot: ckRoot, prices: PRICES, now: () => NOW });
  const r = await usage.report({ tenant });

  assert.equal(r.tenantId, tenant.id);
  assert.deepEqual(r.prices, PRICES);
  assert.deepEqual(r.microvms.map((m) => m.id).sort(), [running.id, suspendedId, old.id].sort(), "only the caller's microVMs");
  const byId = new Map(r.microvms.map((m) => [m.id, m]));
  const a = byId.get(running.id);
  const s = byId.get(suspendedId);
  const o = byId.get(old.id);
  assert.ok(a && s && o);
  assert.equal(a.image, 'app');
  assert.equal(a.memoryMiB, 2048);
  assert.equal(a.vcpus, 2);
  close(a.runningSeconds, 150, 'running: 50 accumulated + 100 open');
  close(a.suspendedSeconds, 30, 'running: suspended so far');
  assert.equal(a.snapshotBytes, 0);
  assert.equal(a.billedSnapshotBytes, 4 << 20, 'no checkpoint: the build snapshot size is the estimate');
  close(s.suspendedSeconds, 600, 'suspended: open period');
  assert.equal(s.snapshotBytes, 2 << 20, 'the checkpoint on disk');
  close(o.runningSeconds, 700, 'terminated: what it accumulated');

  const cost = (run: number, susp: number, bytes: number) =>
    run * 2 * 0.001 + run * 2 * 0.0001 + (bytes / GIB) * (susp / SECONDS_PER_MONTH) * 2;
  close(a.cost.total, cost(150, 30, 4 << 20), 'cost of the running one');
  close(s.cost.total, cost(400, 600, 2 << 20), 'cost of the suspended one');
  close(s.cost.storage, ((2 << 20) / GIB) * (600 / SECONDS_PER_MONTH) * 2, 'storage part');
  assert.equal(r.totals.microvms, 3);
  assert.equal(r.totals.running, 1);
  assert.equal(r.totals.suspended, 1);
  close(r.totals.runningSeconds, 150 + 400 + 700, 'total running');
  close(r.totals.vcpuSeconds, (150 + 400 + 700) * 2, 'vCPU-seconds');
  close(r.totals.gibSeconds, (150 + 400 + 700) * 2, 'GiB-seconds');
  assert.equal(r.totals.snapshotBytes, 2 << 20);
  close(r.totals.cost.total, a.cost.total + s.cost.total + o.cost.total, 'total cost');

  // A window from 2000 s ago leaves out the one terminated 4000 s ago; new prices apply per call.
  const w = await usage.report({ tenant }, { from: ago(2000), prices: { vcpuSecond: 0 } });
  assert.deepEqual(w.microvms.map((m) => m.id).sort(), [running.id, suspendedId].sort());
  assert.equal(w.prices.vcpuSecond, 0);
  assert.equal(w.prices.gibSecond, PRICES.gibSecond);
  await assert.rejects(usage.report({ tenant }, { from: NOW, to: ago(10) }), (e: unknown) => isCubbyError(e, 'CUBBY_VALIDATION'));

  // Stats: RUNNING only, and never another tenant's.
  const st = await usage.stats({ tenant }, running.id);
  assert.deepEqual(
    { ...st },
    { microvmId: running.id, state: 'RUNNING', sampledAt: NOW, memoryBytes: 123 << 20, cpuSeconds: 4.5, memoryMiB: 2048, vcpus: 2 },
  );
  await assert.rejects(usage.stats({ tenant }, suspendedId), (e: unknown) => isCubbyError(e, 'MICROVM_BAD_STATE'));
  await assert.rejects(usage.stats({ tenant }, foreign.id), (e: unknown) => isCubbyError(e, 'MICROVM_NOT_FOUND'));
});
