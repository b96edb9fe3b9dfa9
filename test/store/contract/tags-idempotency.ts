/** Contract: tags and idempotency records. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageInput } from './fixtures.js';
import { fresh, type MakeStore, rejectsWith } from './harness.js';

export function tagTests(make: MakeStore): void {
  test('tags: set, overwrite, unset, per kind', async (t) => {
    const { store } = await fresh(t, make);
    const tn = await store.createTenant('acme');
    await store.setTags(tn.id, 'image', 'r1', { env: 'prod', team: 'a' });
    await store.setTags(tn.id, 'image', 'r1', { team: 'b', 'cost:center': 'ünï' });
    assert.deepEqual(await store.listTags(tn.id, 'image', 'r1'), { 'cost:center': 'ünï', env: 'prod', team: 'b' });
    await store.unsetTags(tn.id, 'image', 'r1', ['env', 'absent']);
    assert.deepEqual(await store.listTags(tn.id, 'image', 'r1'), { 'cost:center': 'ünï', team: 'b' });
    assert.deepEqual(await store.listTags(tn.id, 'microvm', 'r1'), {}, 'kinds are separate');
    await store.setTags(tn.id, 'image', 'r1', {});
    await store.unsetTags(tn.id, 'image', 'r1', []);
    assert.equal(Object.keys(await store.listTags(tn.id, 'image', 'r1')).length, 2);
  });
}

export function idempotencyTests(make: MakeStore): void {
  test('idempotency: same token replays, a different request conflicts, a failed create leaves nothing', async (t) => {
    const h = await fresh(t, make);
    const { store } = h;
    const tn = await store.createTenant('acme');
    const other = await store.createTenant('other');
    const key = { tenantId: tn.id, operation: 'CreateImage', clientToken: 'tok-1' };
    let calls = 0;
    const create = async (name: string) => {
      return store.idempotent({ ...key }, `hash-${name}`, async (tx) => {
        calls++;
        return (await tx.insertImage(imageInput(tn.id, name))).id;
      });
    };
    const first = await create('app');
    assert.equal(first.replayed, false);
    const second = await create('app');
    assert.deepEqual(second, { resultRef: first.resultRef, replayed: true });
    assert.equal(calls, 1);
    await rejectsWith(create('different'), 'IDEMPOTENCY_MISMATCH');
    assert.equal(calls, 1);
    assert.equal((await store.listImages(tn.id)).items.length, 1);

    const rec = await store.getIdempotency(key);
    assert.equal(rec?.resultRef, first.resultRef);
    assert.equal(rec?.requestHash, 'hash-app');
    assert.equal(await store.getIdempotency({ ...key, tenantId: other.id }), undefined, 'tokens are per tenant');
    assert.equal(await store.getIdempotency({ ...key, operation: 'RunMicrovm' }), undefined, 'and per operation');

    // A create that fails records nothing and keeps nothing it wrote.
    const failing = store.idempotent({ ...key, clientToken: 'tok-2' }, 'h', async (tx) => {
      await tx.insertImage(imageInput(tn.id, 'half'));
      throw new Error('boom');
    });
    await assert.rejects(failing, /boom/);
    assert.equal(await store.getIdempotency({ ...key, clientToken: 'tok-2' }), undefined);
    assert.equal(await store.getImageByName(tn.id, 'half'), undefined);

    const put = await store.putIdempotency({ ...key, clientToken: 'tok-3' }, 'h3', 'ref-3');
    assert.equal(put.resultRef, 'ref-3');
    assert.equal((await store.putIdempotency({ ...key, clientToken: 'tok-3' }, 'h3', 'ref-other')).resultRef, 'ref-3');
    await rejectsWith(store.putIdempotency({ ...key, clientToken: 'tok-3' }, 'h4', 'ref-4'), 'IDEMPOTENCY_MISMATCH');

    if (!h.advanceClock) return;
    h.advanceClock(23 * 3600_000);
    assert.ok(await store.getIdempotency(key), 'still kept after 23 h');
    assert.equal(await store.sweepIdempotency(), 0);
    h.advanceClock(3600_000 + 1000);
    assert.equal(await store.getIdempotency(key), undefined, 'gone after 24 h');
    const later = await store.idempotent(key, 'hash-new', async () => 'ref-new');
    assert.deepEqual(later, { resultRef: 'ref-new', replayed: false }, 'an expired token may be used afresh');
    assert.equal(await store.sweepIdempotency(), 1, 'tok-3 swept; tok-1 was replaced');
    assert.ok(await store.getIdempotency(key));
  });
}
