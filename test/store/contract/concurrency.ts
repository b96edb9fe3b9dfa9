/**
 * Contract: concurrent calls on one handle, and inside one transaction, each run whole. An
 * operation's statements are separated by awaits; none of another call's may land in between.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCubbyError } from '../../../src/errors/index.js';
import type { ErrorCode } from '../../../src/errors/index.js';
import { imageInput, seed, versionInput } from './fixtures.js';
import { fresh, type MakeStore } from './harness.js';

/** Exactly one of the results fulfilled; every other one failed with `code`. */
function oneWon(results: PromiseSettledResult<unknown>[], code: ErrorCode): void {
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one succeeded');
  for (const r of results) if (r.status === 'rejected') assert.ok(isCubbyError(r.reason, code), String(r.reason));
}

export function concurrencyTests(make: MakeStore): void {
  test('concurrent calls on one handle: a check and its write are never split', async (t) => {
    const { store } = await fresh(t, make);
    oneWon(await Promise.allSettled(Array.from({ length: 5 }, () => store.createTenant('same'))), 'TENANT_EXISTS');
    const { tenant, image } = await seed(store, 'acme');
    oneWon(await Promise.allSettled(Array.from({ length: 4 }, () => store.insertImage(imageInput(tenant.id, 'dup')))), 'IMAGE_EXISTS');
    // Each insert reads the last number and writes the next: split, two would take the same one.
    const versions = await Promise.all(Array.from({ length: 6 }, () => store.insertVersion(versionInput(image))));
    assert.deepEqual(versions.map((v) => v.version).sort(), ['1.1', '1.2', '1.3', '1.4', '1.5', '1.6']);
    assert.equal((await store.listVersions(tenant.id, image.id)).items.length, 7);
  });

  test('concurrent calls inside one transaction run one at a time; a failed one spoils none of the others', async (t) => {
    const { store } = await fresh(t, make);
    const { tenant, image } = await seed(store, 'acme');
    const results = await store.tx((tx) =>
      Promise.allSettled([
        tx.insertVersion(versionInput(image)),
        tx.insertVersion(versionInput(image)),
        tx.insertImage(imageInput(tenant.id, 'app')), // taken by seed
        tx.setQuotaOverrides(tenant.id, { running: 4 }),
        tx.setTags(tenant.id, 'image', image.id, { a: '1', b: '2' }),
        tx.insertVersion(versionInput(image)),
      ]),
    );
    const [v1, v2, dup, quotas, tags, v3] = results;
    assert.deepEqual(
      [v1, v2, v3].map((r) => (r?.status === 'fulfilled' ? (r.value as { version: string }).version : r?.reason)),
      ['1.1', '1.2', '1.3'],
    );
    assert.ok(dup?.status === 'rejected' && isCubbyError(dup.reason, 'IMAGE_EXISTS'), String(dup));
    assert.equal(quotas?.status, 'fulfilled');
    assert.equal(tags?.status, 'fulfilled');
    assert.deepEqual(
      (await store.listVersions(tenant.id, image.id)).items.map((v) => v.version),
      ['1.0', '1.1', '1.2', '1.3'],
    );
    assert.deepEqual(await store.getQuotaOverrides(tenant.id), { running: 4 });
    assert.deepEqual(await store.listTags(tenant.id, 'image', image.id), { a: '1', b: '2' });
  });
}
