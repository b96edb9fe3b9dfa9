/** Contract: per-tenant quota overrides and the per-version microVM counts quotas read. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageInput, microvmInput, seed, versionInput } from './fixtures.js';
import { fresh, type MakeStore, rejectsWith } from './harness.js';

export function quotaTests(make: MakeStore): void {
  test('quota overrides: none at first, set merges, null clears one, clear drops all, per tenant', async (t) => {
    const h = await fresh(t, make);
    const { store } = h;
    const a = await store.createTenant('acme');
    const b = await store.createTenant('other');
    assert.deepEqual(await store.getQuotaOverrides(a.id), {});
    assert.deepEqual(await store.setQuotaOverrides(a.id, { running: 1, memoryMiB: 2048 }), { running: 1, memoryMiB: 2048 });
    const big = 50 * 1024 * 1024 * 1024; // past 32 bits: checkpoint bytes are large
    assert.deepEqual(await store.setQuotaOverrides(a.id, { running: 3, checkpointBytes: big }), {
      running: 3,
      memoryMiB: 2048,
      checkpointBytes: big,
    });
    assert.deepEqual(
      await store.setQuotaOverrides(a.id, { memoryMiB: null, builds: 0 }),
      { running: 3, checkpointBytes: big, builds: 0 },
      '0 is a limit, null clears',
    );
    assert.deepEqual(await store.getQuotaOverrides(b.id), {}, 'another tenant has none');
    await store.setQuotaOverrides(b.id, { artifacts: 7 });
    await store.clearQuotaOverrides(a.id);
    assert.deepEqual(await store.getQuotaOverrides(a.id), {});
    assert.deepEqual(await store.getQuotaOverrides(b.id), { artifacts: 7 }, 'clearing one tenant leaves the other');
    await store.clearQuotaOverrides(a.id);
    await rejectsWith(store.setQuotaOverrides('tn_missing', { running: 1 }), 'TENANT_NOT_FOUND');
    if (h.reopen) {
      const again = await h.reopen();
      try {
        assert.deepEqual(await again.getQuotaOverrides(b.id), { artifacts: 7 }, 'stored, not cached');
      } finally {
        await again.close();
      }
    }
  });

  test('quota overrides: a failed transaction leaves them as they were', async (t) => {
    const { store } = await fresh(t, make);
    const a = await store.createTenant('acme');
    await store.setQuotaOverrides(a.id, { running: 2 });
    await assert.rejects(
      store.tx(async (tx) => {
        await tx.setQuotaOverrides(a.id, { running: 9 });
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual(await store.getQuotaOverrides(a.id), { running: 2 });
  });

  test("countMicrovmsByVersion: counts per image version and state, only the tenant's, only the states asked", async (t) => {
    const { store } = await fresh(t, make);
    const { tenant, image, version } = await seed(store, 'acme'); // one PENDING microVM on 1.0
    const v2 = await store.insertVersion(versionInput(image));
    await store.insertMicrovm(microvmInput(tenant.id, image.id, version.version, { state: 'RUNNING' }));
    await store.insertMicrovm(microvmInput(tenant.id, image.id, version.version, { state: 'RUNNING' }));
    await store.insertMicrovm(microvmInput(tenant.id, image.id, v2.version, { state: 'SUSPENDED' }));
    await store.insertMicrovm(microvmInput(tenant.id, image.id, v2.version, { state: 'TERMINATED' }));
    const other = await store.createTenant('other');
    const oi = await store.insertImage(imageInput(other.id, 'app'));
    const ov = await store.insertVersion(versionInput(oi));
    await store.insertMicrovm(microvmInput(other.id, oi.id, ov.version, { state: 'RUNNING' }));

    const rows = await store.countMicrovmsByVersion(tenant.id, ['PENDING', 'RUNNING', 'SUSPENDED']);
    const key = (r: { version: string; state: string }) => `${r.version}/${r.state}`;
    assert.deepEqual(
      rows.map((r) => [key(r), r.count, r.imageId]).sort(),
      [
        [`${version.version}/PENDING`, 1, image.id],
        [`${version.version}/RUNNING`, 2, image.id],
        [`${v2.version}/SUSPENDED`, 1, image.id],
      ].sort(),
    );
    assert.deepEqual(
      (await store.countMicrovmsByVersion(tenant.id, ['RUNNING'])).map((r) => r.count),
      [2],
    );
    assert.deepEqual(await store.countMicrovmsByVersion(tenant.id, []), []);
    assert.deepEqual(await store.countMicrovmsByVersion('tn_missing', ['RUNNING']), []);
  });
}
