/** Contract: transactions, closing, and data surviving a reopen. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Store } from '../../../src/core/ports/store.js';
import { imageInput, seed } from './fixtures.js';
import { fresh, type MakeStore, rejectsWith } from './harness.js';

export function transactionTests(make: MakeStore): void {
  test('tx: commits together, rolls back together', async (t) => {
    const { store } = await fresh(t, make);
    const tn = await store.createTenant('acme');
    const result = await store.tx(async (tx) => {
      const img = await tx.insertImage(imageInput(tn.id, 'one'));
      await tx.setTags(tn.id, 'image', img.id, { a: '1' });
      return img.id;
    });
    assert.ok(await store.getImage(tn.id, result));
    assert.deepEqual(await store.listTags(tn.id, 'image', result), { a: '1' });

    let seenInside: unknown;
    await assert.rejects(
      store.tx(async (tx) => {
        const img = await tx.insertImage(imageInput(tn.id, 'two'));
        await tx.setTags(tn.id, 'image', img.id, { b: '2' });
        await tx.createTenant('made-in-tx');
        seenInside = await tx.getImageByName(tn.id, 'two');
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.ok(seenInside, 'a transaction sees its own writes');
    assert.equal(await store.getImageByName(tn.id, 'two'), undefined);
    assert.equal(await store.getTenantByName('made-in-tx'), undefined);
    assert.equal((await store.listImages(tn.id)).items.length, 1);

    // A failed call inside a transaction does not poison it.
    const kept = await store.tx(async (tx) => {
      await rejectsWith(tx.insertImage(imageInput(tn.id, 'one')), 'IMAGE_EXISTS');
      return (await tx.insertImage(imageInput(tn.id, 'three'))).name;
    });
    assert.equal((await store.getImageByName(tn.id, kept))?.name, 'three');
  });

  test('tx: others never see uncommitted writes; calls on the store inside fn join it', async (t) => {
    const { store } = await fresh(t, make);
    const tn = await store.createTenant('acme');
    // A promise continuation keeps the context it was attached in: this read runs as a concurrent
    // request would, outside the transaction, once the transaction has written.
    let written!: () => void;
    const outside = new Promise<void>((r) => {
      written = r;
    }).then(() => store.getImageByName(tn.id, 'ghost'));
    await assert.rejects(
      store.tx(async (tx) => {
        await tx.insertImage(imageInput(tn.id, 'ghost'));
        written();
        await new Promise((r) => setTimeout(r, 20));
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.equal(await outside, undefined, 'a rolled-back write is never visible');

    const joined = await Promise.race([
      store.tx(async () => {
        const img = await store.insertImage(imageInput(tn.id, 'joined'));
        await store.tx(async (inner) => inner.setTags(tn.id, 'image', img.id, { nested: 'yes' }));
        return store.getImage(tn.id, img.id);
      }),
      new Promise((_, reject) => setTimeout(() => reject(new Error('deadlock: store call inside tx did not join')), 5000).unref()),
    ]);
    assert.ok(joined);

    let leaked: Parameters<Parameters<typeof store.tx>[0]>[0] | undefined;
    await store.tx(async (tx) => {
      leaked = tx;
    });
    assert.ok(leaked);
    await assert.rejects(leaked.getTenant(tn.id), 'a transaction handle is dead once the transaction ended');
  });

  test('persistence: data survives close and reopen; closed stores refuse calls', async (t) => {
    const h = await fresh(t, make);
    const seeded = await seed(h.store, 'acme');
    const key = await h.store.createKey(seeded.tenant.id);
    await h.store.setTags(seeded.tenant.id, 'image', seeded.image.id, { k: 'v' });
    await h.store.close();
    await h.store.close();
    await rejectsWith(h.store.getTenant(seeded.tenant.id), 'STORE_CLOSED');
    await rejectsWith(
      h.store.tx(async () => undefined),
      'STORE_CLOSED',
    );
    const reopen = h.reopen;
    if (!reopen) return;
    for (let i = 0; i < 2; i++) {
      const s: Store = await reopen();
      try {
        assert.deepEqual(await s.getTenant(seeded.tenant.id), seeded.tenant);
        assert.deepEqual(await s.getImage(seeded.tenant.id, seeded.image.id), seeded.image);
        assert.deepEqual(await s.getVersion(seeded.tenant.id, seeded.image.id, '1.0'), seeded.version);
        assert.deepEqual(await s.getMicrovm(seeded.tenant.id, seeded.microvm.id), seeded.microvm);
        assert.deepEqual(await s.listTags(seeded.tenant.id, 'image', seeded.image.id), { k: 'v' });
        assert.equal((await s.getKeyForAuth(key.accessKeyId))?.secret, key.secretAccessKey);
        assert.equal(await s.nextVersion(seeded.tenant.id, seeded.image.id), '1.1');
      } finally {
        await s.close();
      }
    }
  });
}
