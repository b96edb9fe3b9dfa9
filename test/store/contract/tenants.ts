/** Contract: tenants and access keys (secrets encrypted at rest, revoked keys never authenticate). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fresh, type MakeStore, rejectsWith } from './harness.js';

export function tenantTests(make: MakeStore): void {
  test('tenants: create, look up by id, name and account, list', async (t) => {
    const { store } = await fresh(t, make);
    const a = await store.createTenant('acme');
    assert.match(a.id, /\S/);
    assert.match(a.accountId, /^\d{12}$/);
    assert.ok(a.createdAt instanceof Date);
    assert.deepEqual(await store.getTenant(a.id), a);
    assert.deepEqual(await store.getTenantByName('acme'), a);
    assert.deepEqual(await store.getTenantByAccountId(a.accountId), a);
    assert.equal(await store.getTenant('tn_missing'), undefined);
    assert.equal(await store.getTenantByName('nobody'), undefined);
    assert.equal(await store.getTenantByAccountId('000000000000'), undefined);

    const more = [];
    for (let i = 0; i < 15; i++) more.push(await store.createTenant(`t-${i}`));
    const all = await store.listTenants();
    assert.deepEqual(
      all.map((x) => x.name),
      ['acme', ...more.map((x) => x.name)],
    );
    assert.equal(new Set(all.map((x) => x.accountId)).size, all.length, 'account ids are unique');
    assert.equal(new Set(all.map((x) => x.id)).size, all.length, 'ids are unique');
  });

  test('tenants: duplicate names and bad names are refused', async (t) => {
    const { store } = await fresh(t, make);
    await store.createTenant('acme');
    await rejectsWith(store.createTenant('acme'), 'TENANT_EXISTS');
    for (const bad of ['', 'Acme', 'a_b', 'a'.repeat(64), 'sp ace']) {
      await rejectsWith(store.createTenant(bad), 'CUBBY_VALIDATION');
    }
    assert.equal((await store.listTenants()).length, 1);
  });

  test('keys: created once with the secret, authenticate, listed without secrets, revoked', async (t) => {
    const { store } = await fresh(t, make);
    const a = await store.createTenant('acme');
    const b = await store.createTenant('other');
    const k1 = await store.createKey(a.id);
    const k2 = await store.createKey(a.id);
    assert.match(k1.accessKeyId, /^CBK[A-Z0-9]{17}$/);
    assert.equal(k1.secretAccessKey.length, 40);
    assert.notEqual(k1.secretAccessKey, k2.secretAccessKey);
    assert.equal(k1.status, 'ACTIVE');
    assert.equal(k1.tenantId, a.id);

    const auth = await store.getKeyForAuth(k1.accessKeyId);
    assert.ok(auth);
    assert.equal(auth.secret, k1.secretAccessKey);
    assert.deepEqual(auth.tenant, a);
    assert.equal(auth.key.accessKeyId, k1.accessKeyId);
    assert.equal('secretAccessKey' in auth.key, false);
    assert.equal(await store.getKeyForAuth('CBKAAAAAAAAAAAAAAAAA'), undefined);

    const listed = await store.listKeys(a.id);
    assert.deepEqual(
      listed.map((k) => k.accessKeyId),
      [k1.accessKeyId, k2.accessKeyId],
    );
    for (const k of listed) assert.equal('secretAccessKey' in k, false);
    assert.equal(JSON.stringify(listed).includes(k1.secretAccessKey), false);
    assert.deepEqual(await store.listKeys(b.id), []);

    await rejectsWith(store.revokeKey(k1.accessKeyId, b.id), 'KEY_NOT_FOUND');
    assert.ok(await store.getKeyForAuth(k1.accessKeyId), 'a refused revoke changes nothing');
    const revoked = await store.revokeKey(k1.accessKeyId);
    assert.equal(revoked.status, 'REVOKED');
    assert.ok(revoked.revokedAt instanceof Date);
    assert.equal(await store.getKeyForAuth(k1.accessKeyId), undefined, 'revoked keys do not authenticate');
    assert.equal((await store.getKeyForAuth(k2.accessKeyId))?.secret, k2.secretAccessKey, 'other keys still do');
    const again = await store.revokeKey(k1.accessKeyId, a.id);
    assert.deepEqual(again.revokedAt, revoked.revokedAt, 'revoking twice keeps the first time');
    assert.deepEqual(
      (await store.listKeys(a.id)).map((k) => k.status),
      ['REVOKED', 'ACTIVE'],
    );

    await rejectsWith(store.revokeKey('CBKAAAAAAAAAAAAAAAAA'), 'KEY_NOT_FOUND');
    await rejectsWith(store.createKey('tn_missing'), 'TENANT_NOT_FOUND');
  });

  test('keys: the secret is not stored in plaintext and survives a reopen', async (t) => {
    const h = await fresh(t, make);
    const a = await h.store.createTenant('acme');
    const k = await h.store.createKey(a.id);
    if (h.rawBytes) {
      const raw = await h.rawBytes();
      assert.ok(raw.length > 0);
      assert.equal(raw.includes(Buffer.from(k.secretAccessKey)), false, 'plaintext secret found at rest');
      assert.equal(raw.includes(Buffer.from(k.secretAccessKey, 'base64')), false, 'decoded secret found at rest');
      assert.ok(raw.includes(Buffer.from(k.accessKeyId)), 'the raw dump does hold the key row');
    }
    if (h.reopen) {
      const other = await h.reopen();
      try {
        assert.equal((await other.getKeyForAuth(k.accessKeyId))?.secret, k.secretAccessKey);
      } finally {
        await other.close();
      }
    }
  });
}
