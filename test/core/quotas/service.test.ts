/** The quota service over a real SQLite store, real checkpoint files and real upload files on disk. */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { nodeDisk } from '../../../src/adapters/node-disk.js';
import { diskArtifactUsage } from '../../../src/adapters/artifact-usage.js';
import { QuotaService } from '../../../src/core/quotas/service.js';
import { DEFAULT_QUOTAS } from '../../../src/core/quotas/types.js';
import type { MicrovmInsert } from '../../../src/core/ports/store.js';
import { isCubbyError, type ErrorCode } from '../../../src/errors/index.js';
import { twoTenantStore } from '../../support/two-tenant-store.js';

const refused = (code: ErrorCode, msg: RegExp) => (e: unknown) => {
  assert.ok(isCubbyError(e), String(e));
  assert.equal(e.code, code, e.message);
  assert.match(e.message, msg);
  return true;
};

async function setup(t: import('node:test').TestContext) {
  const { dir, store, tenant, other, image, otherImage } = await twoTenantStore(
    t,
    'quota',
    { memoryMiB: 1024, vcpus: 1 },
    { memoryMiB: 8192 },
  );
  const at = new Date();
  const vm = (tenantId: string, imageId: string, over: Partial<MicrovmInsert>): MicrovmInsert => ({
    tenantId,
    imageId,
    imageVersion: '1.0',
    state: 'RUNNING',
    maximumDurationSeconds: 3600,
    egress: { mode: 'closed' },
    extra: {},
    startedAt: at,
    lastActivityAt: at,
    ...over,
  });
  const checkpointRoot = path.join(dir, 'checkpoints');
  const artifactsDir = path.join(dir, 'artifacts');
  const quotas = new QuotaService({
    store,
    disk: nodeDisk,
    checkpointRoot,
    artifacts: diskArtifactUsage(artifactsDir),
    defaults: {
      ...DEFAULT_QUOTAS,
      running: 3,
      memoryMiB: 3072,
      suspended: 2,
      checkpointBytes: 3 << 20,
      builds: 1,
      artifacts: 2,
      artifactBytes: 1 << 20,
    },
  });
  return { store, tenant, other, image, otherImage, vm, checkpointRoot, artifactsDir, quotas };
}

test("usage counts PENDING/RUNNING/SUSPENDING as running with their version's memory, SUSPENDING/SUSPENDED as suspended, per tenant", async (t) => {
  const { store, tenant, other, image, otherImage, vm, checkpointRoot, quotas } = await setup(t);
  await store.insertMicrovm(vm(tenant.id, image.id, { state: 'PENDING' }));
  await store.insertMicrovm(vm(tenant.id, image.id, { state: 'RUNNING' }));
  await store.insertMicrovm(vm(tenant.id, image.id, { state: 'TERMINATED' }));
  const sid = 's'.repeat(20);
  await fs.mkdir(path.join(checkpointRoot, sid, 'current'), { recursive: true });
  await fs.writeFile(path.join(checkpointRoot, sid, 'current', 'pages.img'), Buffer.alloc(2 << 20));
  await store.insertMicrovm(
    vm(tenant.id, image.id, { id: sid, state: 'SUSPENDED', checkpointPath: path.join(checkpointRoot, sid, 'current') }),
  );
  await store.insertMicrovm(vm(other.id, otherImage.id, { state: 'RUNNING' }));

  const u = await quotas.usage(tenant.id);
  assert.equal(u.running, 2);
  assert.equal(u.memoryMiB, 2048);
  assert.equal(u.suspended, 1);
  assert.equal(u.checkpointBytes, 2 << 20);
  assert.deepEqual(await quotas.microvmUse(other.id), { running: 1, memoryMiB: 8192, suspended: 0 });

  // 2 running + 1 = 3: fits the count, but 2048 + 1024 = 3072 MiB is the memory limit exactly.
  await quotas.checkLaunch(tenant.id, 1024);
  await assert.rejects(quotas.checkLaunch(tenant.id, 1025), refused('QUOTA_MEMORY', /limit 3072, in use 2048/));
  await store.insertMicrovm(vm(tenant.id, image.id, { state: 'RUNNING' }));
  await assert.rejects(quotas.checkLaunch(tenant.id, 0), refused('QUOTA_RUNNING_MICROVMS', /running microVMs.*limit 3, in use 3/));
  await assert.rejects(quotas.checkResume(tenant.id, 0), refused('QUOTA_RUNNING_MICROVMS', /limit 3/));
  // The other tenant is unaffected by this one's use, only by its own.
  await assert.rejects(quotas.checkLaunch(other.id, 8192), refused('QUOTA_MEMORY', /limit 3072, in use 8192/));
  await store.setQuotaOverrides(other.id, { memoryMiB: 32768 });
  await quotas.checkLaunch(other.id, 8192);

  // Suspended: 1 of 2; one more fits, then a second SUSPENDING reaches the limit.
  await quotas.checkSuspend(tenant.id);
  await store.insertMicrovm(vm(tenant.id, image.id, { state: 'SUSPENDING' }));
  await assert.rejects(quotas.checkSuspend(tenant.id), refused('QUOTA_SUSPENDED_MICROVMS', /limit 2, in use 2/));

  // Checkpoint bytes over the limit (the operator lowered it): launches are refused.
  await store.setQuotaOverrides(tenant.id, { running: 10, memoryMiB: 100_000, checkpointBytes: 1 << 20 });
  await assert.rejects(quotas.checkLaunch(tenant.id, 1024), refused('QUOTA_CHECKPOINT_BYTES', /checkpoint bytes.*over the limit/));
  const st = await quotas.status(tenant.id);
  assert.deepEqual(
    st.find((s) => s.name === 'checkpointBytes'),
    { name: 'checkpointBytes', limit: 1 << 20, used: 2 << 20, unit: 'bytes', overridden: true },
  );
});

test('builds: queued and running builds of the tenant count; finished ones do not', async (t) => {
  const { store, tenant, other, image, otherImage, quotas } = await setup(t);
  await quotas.checkBuild(tenant.id);
  const b = await store.insertBuild({ imageId: image.id, tenantId: tenant.id, version: '1.0', state: 'PENDING' });
  await assert.rejects(quotas.checkBuild(tenant.id), refused('QUOTA_BUILDS', /concurrent image builds.*limit 1, in use 1/));
  await store.insertBuild({ imageId: otherImage.id, tenantId: other.id, version: '1.0', state: 'SUCCESSFUL' });
  await quotas.checkBuild(other.id);
  await store.updateBuild(tenant.id, b.id, { state: 'FAILED' });
  await quotas.checkBuild(tenant.id);
});

test('uploads: files on disk plus uploads in flight count; a released slot and a removed file free quota', async (t) => {
  const { tenant, other, artifactsDir, quotas } = await setup(t);
  const dir = path.join(artifactsDir, tenant.id);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'one.zip'), Buffer.alloc(300_000));
  await fs.writeFile(path.join(dir, 'half.zip.part'), Buffer.alloc(999_999)); // in flight: counted by its reservation, not here
  assert.deepEqual(await quotas.artifactUse(tenant.id), { count: 1, bytes: 300_000 });

  const slot = await quotas.reserveArtifact(tenant.id, 200_000);
  assert.equal(slot.maxBytes, (1 << 20) - 300_000, 'may write what the bytes quota has left');
  // 1 on disk + 1 in flight = the count limit of 2.
  await assert.rejects(quotas.reserveArtifact(tenant.id, 10), refused('QUOTA_ARTIFACTS', /uploaded artifacts.*limit 2, in use 2/));
  slot.release();
  slot.release(); // twice is harmless
  await assert.rejects(
    quotas.reserveArtifact(tenant.id, 900_000),
    refused('QUOTA_ARTIFACTS', /artifact bytes.*limit 1048576, in use 300000/),
  );
  (await quotas.reserveArtifact(other.id, 900_000)).release();
  await fs.rm(path.join(dir, 'one.zip'));
  (await quotas.reserveArtifact(tenant.id, 900_000)).release();
});

test('admission steps run one at a time: concurrent check-then-record never both take the last slot', async (t) => {
  const { store, tenant, image, vm, quotas } = await setup(t);
  await store.setQuotaOverrides(tenant.id, { running: 1 });
  const attempt = () =>
    quotas.admit(async () => {
      await quotas.checkLaunch(tenant.id, 0);
      await new Promise((r) => setTimeout(r, 10)); // widen the window a racy check would lose in
      await store.insertMicrovm(vm(tenant.id, image.id, { state: 'PENDING' }));
    });
  const results = await Promise.allSettled(Array.from({ length: 5 }, attempt));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  assert.equal((await quotas.microvmUse(tenant.id)).running, 1);
});
