/** Contract: a tenant never sees, changes or deletes another tenant's rows. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildInput, imageInput, microvmInput, seed, versionInput } from './fixtures.js';
import { fresh, type MakeStore, rejectsWith } from './harness.js';

export function scopingTests(make: MakeStore): void {
  test("tenant scoping: B sees none of A's rows, by id or by list, and cannot change them", async (t) => {
    const { store } = await fresh(t, make);
    const A = await seed(store, 'tenant-a');
    const build = await store.insertBuild(buildInput(A.version));
    await store.setTags(A.tenant.id, 'image', A.image.id, { team: 'a' });
    await store.setTags(A.tenant.id, 'microvm', A.microvm.id, { team: 'a' });
    const keyA = await store.createKey(A.tenant.id);
    const B = await store.createTenant('tenant-b');
    const b = B.id;

    assert.equal(await store.getImage(b, A.image.id), undefined);
    assert.equal(await store.getImageByName(b, 'app'), undefined);
    assert.deepEqual((await store.listImages(b)).items, []);
    assert.equal(await store.getVersion(b, A.image.id, '1.0'), undefined);
    assert.deepEqual((await store.listVersions(b, A.image.id)).items, []);
    assert.equal(await store.findLatestVersion(b, A.image.id), undefined);
    assert.equal(await store.getBuild(b, build.id), undefined);
    assert.deepEqual((await store.listBuilds(b, A.image.id, '1.0')).items, []);
    assert.equal(await store.getMicrovm(b, A.microvm.id), undefined);
    assert.deepEqual((await store.listMicrovms(b)).items, []);
    assert.deepEqual((await store.listMicrovms(b, { imageId: A.image.id })).items, []);
    assert.equal(await store.countMicrovms({ tenantId: b }), 0);
    assert.deepEqual(await store.listTags(b, 'image', A.image.id), {});
    assert.deepEqual(await store.listTags(b, 'microvm', A.microvm.id), {});
    assert.deepEqual(await store.listKeys(b), []);
    assert.equal(await store.getIdempotency({ tenantId: b, operation: 'x', clientToken: 'y' }), undefined);

    await rejectsWith(store.updateImage(b, A.image.id, { state: 'DELETING' }), 'IMAGE_NOT_FOUND');
    await rejectsWith(store.deleteImage(b, A.image.id), 'IMAGE_NOT_FOUND');
    await rejectsWith(store.nextVersion(b, A.image.id), 'IMAGE_NOT_FOUND');
    await rejectsWith(store.insertVersion({ ...versionInput(A.image), tenantId: b }), 'IMAGE_NOT_FOUND');
    await rejectsWith(store.updateVersion(b, A.image.id, '1.0', { status: 'INACTIVE' }), 'IMAGE_VERSION_NOT_FOUND');
    await rejectsWith(store.deleteVersion(b, A.image.id, '1.0'), 'IMAGE_VERSION_NOT_FOUND');
    await rejectsWith(store.insertBuild({ ...buildInput(A.version), tenantId: b }), 'IMAGE_VERSION_NOT_FOUND');
    await rejectsWith(store.updateBuild(b, build.id, { state: 'FAILED' }), 'IMAGE_BUILD_NOT_FOUND');
    await rejectsWith(store.revokeKey(keyA.accessKeyId, b), 'KEY_NOT_FOUND');
    await store.unsetTags(b, 'image', A.image.id, ['team']);
    await store.setTags(b, 'image', A.image.id, { team: 'b' });

    // B may use the same names; A's rows are untouched by all of the above.
    const imageB = await store.insertImage(imageInput(b, 'app'));
    assert.notEqual(imageB.id, A.image.id);
    assert.deepEqual((await store.listImages(b)).items, [imageB]);
    assert.deepEqual(await store.getImage(A.tenant.id, A.image.id), A.image);
    assert.deepEqual(await store.getVersion(A.tenant.id, A.image.id, '1.0'), A.version);
    assert.deepEqual(await store.getBuild(A.tenant.id, build.id), build);
    assert.deepEqual(await store.getMicrovm(A.tenant.id, A.microvm.id), A.microvm);
    assert.deepEqual(await store.listTags(A.tenant.id, 'image', A.image.id), { team: 'a' });
    assert.ok(await store.getKeyForAuth(keyA.accessKeyId));
    // Internal lookups are deliberately tenant-blind.
    assert.deepEqual(await store.getMicrovmAny(A.microvm.id), A.microvm);
    assert.equal(await store.countMicrovms({}), 1);
    await store.insertMicrovm(microvmInput(b, imageB.id));
    assert.equal(await store.countMicrovms({}), 2);
    assert.equal(await store.countMicrovms({ tenantId: A.tenant.id }), 1);
  });
}
