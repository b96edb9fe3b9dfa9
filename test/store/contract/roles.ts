/** Contract: secrets (sealed at rest, versioned, tenant-scoped) and execution roles (issue 16). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fresh, type MakeStore, rejectsWith } from './harness.js';

export function roleTests(make: MakeStore): void {
  test('secrets: set, rotate (next version), read back only through getSecretValue, never in clear at rest', async (t) => {
    const h = await fresh(t, make);
    const { store } = h;
    const a = await store.createTenant('acme');
    const b = await store.createTenant('beta');
    const v1 = await store.putSecret(a.id, 'db', 'value-one-0f3a9c');
    assert.equal(v1.version, 1);
    const v2 = await store.putSecret(a.id, 'db', 'value-two-77e1b2');
    assert.equal(v2.version, 2);
    assert.ok(v2.updatedAt.getTime() >= v1.createdAt.getTime());
    assert.deepEqual((await store.getSecretValue(a.id, 'db'))?.value, 'value-two-77e1b2');
    assert.equal((await store.getSecretValue(a.id, 'db'))?.info.version, 2);
    assert.equal(await store.getSecretValue(b.id, 'db'), undefined, "another tenant's secret is not there");
    assert.deepEqual(
      (await store.listSecrets(a.id)).map((s) => [s.name, s.version]),
      [['db', 2]],
    );
    assert.ok(!('value' in ((await store.listSecrets(a.id))[0] ?? {})), 'a listing never carries the value');
    if (h.rawBytes) {
      const raw = await h.rawBytes();
      for (const v of ['value-one-0f3a9c', 'value-two-77e1b2']) assert.ok(!raw.includes(Buffer.from(v)), `${v} is not at rest in clear`);
    }
    await rejectsWith(store.putSecret('tn_missing', 'x', 'y'), 'TENANT_NOT_FOUND');
  });

  test('roles: create (only naming existing secrets), get, list, delete; scoped to the tenant', async (t) => {
    const { store } = await fresh(t, make);
    const a = await store.createTenant('acme');
    const b = await store.createTenant('beta');
    await store.putSecret(a.id, 'db', 'x');
    await rejectsWith(store.createRole({ tenantId: a.id, name: 'r', secrets: ['db', 'nope'], permissions: [] }), 'ROLE_INVALID');
    assert.equal(await store.getRole(a.id, 'r'), undefined, 'a refused role leaves nothing');
    const r = await store.createRole({
      tenantId: a.id,
      name: 'r',
      secrets: ['db'],
      permissions: ['self', 'launch'],
      launch: { images: ['worker'], maxChildren: 3 },
    });
    assert.deepEqual(await store.getRole(a.id, 'r'), r);
    await store.createRole({ tenantId: a.id, name: 'plain', secrets: [], permissions: [] });
    assert.equal((await store.getRole(a.id, 'plain'))?.launch, undefined);
    await rejectsWith(store.createRole({ tenantId: a.id, name: 'r', secrets: [], permissions: [] }), 'ROLE_EXISTS');
    await rejectsWith(store.createRole({ tenantId: b.id, name: 'r2', secrets: ['db'], permissions: [] }), 'ROLE_INVALID');
    assert.equal(await store.getRole(b.id, 'r'), undefined);
    assert.deepEqual(
      (await store.listRoles(a.id)).map((x) => x.name),
      ['r', 'plain'],
    );
    await rejectsWith(store.deleteRole(b.id, 'r'), 'ROLE_NOT_FOUND');
    assert.equal((await store.deleteRole(a.id, 'r')).name, 'r');
    await rejectsWith(store.deleteRole(a.id, 'r'), 'ROLE_NOT_FOUND');
    assert.deepEqual(
      (await store.listRoles(a.id)).map((x) => x.name),
      ['plain'],
    );
  });
}
