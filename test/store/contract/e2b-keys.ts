/** Contract: E2B API keys (stored only as a hash, revoked keys never authenticate), sealed secrets, the renewable deadline column. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fresh, type MakeStore, rejectsWith } from './harness.js';
import { seed } from './fixtures.js';

export function e2bKeyTests(make: MakeStore): void {
  test('E2B keys: create, authenticate, list, revoke; the key is never stored in clear', async (t) => {
    const h = await fresh(t, make);
    const { store } = h;
    const a = await store.createTenant('acme');
    const b = await store.createTenant('beta');
    const k1 = await store.createE2bKey(a.id);
    const k2 = await store.createE2bKey(a.id);
    const kb = await store.createE2bKey(b.id);
    assert.match(k1.apiKey, /^e2b_[0-9a-f]{40}$/);
    assert.notEqual(k1.apiKey, k2.apiKey);
    assert.equal(k1.hint, k1.apiKey.slice(-4));
    assert.equal((await store.getE2bKeyForAuth(k1.apiKey))?.tenant.id, a.id);
    assert.equal((await store.getE2bKeyForAuth(kb.apiKey))?.tenant.id, b.id);
    assert.equal(await store.getE2bKeyForAuth(`e2b_${'0'.repeat(40)}`), undefined);
    assert.deepEqual(
      (await store.listE2bKeys(a.id)).map((k) => k.keyId),
      [k1.keyId, k2.keyId],
    );
    assert.ok(!('apiKey' in ((await store.listE2bKeys(a.id))[0] ?? {})), 'listing never carries the key');
    if (h.rawBytes) assert.ok(!(await h.rawBytes()).includes(Buffer.from(k1.apiKey)), 'the key is not at rest in clear');

    // Another tenant cannot revoke it; the owner can, once (revokedAt kept).
    await rejectsWith(store.revokeE2bKey(k1.keyId, b.id), 'KEY_NOT_FOUND');
    const r = await store.revokeE2bKey(k1.keyId, a.id);
    assert.equal(r.status, 'REVOKED');
    assert.ok(r.revokedAt instanceof Date);
    assert.deepEqual((await store.revokeE2bKey(k1.keyId)).revokedAt, r.revokedAt);
    assert.equal(await store.getE2bKeyForAuth(k1.apiKey), undefined, 'a revoked key never authenticates');
    assert.equal((await store.getE2bKeyForAuth(k2.apiKey))?.tenant.id, a.id);
    await rejectsWith(store.revokeE2bKey('ek_missing'), 'KEY_NOT_FOUND');
    await rejectsWith(store.createE2bKey('tn_missing'), 'TENANT_NOT_FOUND');
  });

  test('sealed secrets open only with the same purpose', async (t) => {
    const { store } = await fresh(t, make);
    const sealed = store.sealSecret('token-123', 'purpose-a');
    assert.ok(!sealed.includes('token-123'));
    assert.equal(store.openSecret(sealed, 'purpose-a'), 'token-123');
    assert.throws(
      () => store.openSecret(sealed, 'purpose-b'),
      (e: unknown) => (e as { code?: string }).code === 'STORE_SECRET_UNREADABLE',
    );
  });

  test('microVMs keep onMaximumDuration (and clear it with null)', async (t) => {
    const { store } = await fresh(t, make);
    const { microvm } = await seed(store, 'acme');
    assert.equal(microvm.onMaximumDuration, undefined);
    const set = await store.updateMicrovm(microvm.id, {
      onMaximumDuration: { action: 'suspend', renewSeconds: 300 },
      maximumDurationSeconds: 42,
    });
    assert.deepEqual(set.onMaximumDuration, { action: 'suspend', renewSeconds: 300 });
    assert.equal(set.maximumDurationSeconds, 42);
    assert.deepEqual((await store.getMicrovmAny(microvm.id))?.onMaximumDuration, { action: 'suspend', renewSeconds: 300 });
    assert.equal((await store.updateMicrovm(microvm.id, { onMaximumDuration: null })).onMaximumDuration, undefined);
  });
}
