/** Contract: images, versions (numbering, never reused) and builds. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildInput, imageInput, settings, versionInput } from './fixtures.js';
import { fresh, type MakeStore, rejectsWith } from './harness.js';

export function imageTests(make: MakeStore): void {
  test('images: insert, unique names per tenant, patch, list by state, delete with everything under it', async (t) => {
    const { store } = await fresh(t, make);
    const tn = await store.createTenant('acme');
    const img = await store.insertImage(imageInput(tn.id, 'app'));
    assert.equal(img.state, 'CREATING');
    assert.equal(img.updatedAt, undefined);
    assert.deepEqual(await store.getImageByName(tn.id, 'app'), img);
    await rejectsWith(store.insertImage(imageInput(tn.id, 'app')), 'IMAGE_EXISTS');
    await rejectsWith(store.insertImage({ ...imageInput(tn.id, 'dup-id'), id: img.id }), 'STORE_CONFLICT');
    await rejectsWith(store.insertImage(imageInput('tn_missing', 'app')), 'TENANT_NOT_FOUND');
    const given = await store.insertImage({ ...imageInput(tn.id, 'given'), id: 'im_given', createdAt: new Date(1000) });
    assert.equal(given.id, 'im_given');
    assert.deepEqual(given.createdAt, new Date(1000));

    const up = await store.updateImage(tn.id, img.id, { state: 'CREATED', latestActiveVersion: '1.0', latestFailedVersion: '1.1' });
    assert.equal(up.state, 'CREATED');
    assert.equal(up.latestActiveVersion, '1.0');
    assert.ok(up.updatedAt instanceof Date);
    const cleared = await store.updateImage(tn.id, img.id, { latestFailedVersion: null });
    assert.equal('latestFailedVersion' in cleared, false, 'null clears an optional member');
    assert.equal(cleared.latestActiveVersion, '1.0', 'members not named are kept');
    await rejectsWith(store.updateImage(tn.id, img.id, { state: null } as never), 'CUBBY_VALIDATION');
    await rejectsWith(store.updateImage(tn.id, img.id, { name: 'renamed' } as never), 'CUBBY_VALIDATION');
    await rejectsWith(store.updateImage(tn.id, 'im_missing', { state: 'CREATED' }), 'IMAGE_NOT_FOUND');
    assert.deepEqual(
      (await store.listImagesByState(['CREATED'])).map((i) => i.id),
      [img.id],
    );
    assert.deepEqual(
      (await store.listImagesByState(['CREATED', 'CREATING'])).map((i) => i.id),
      [img.id, given.id],
    );
    assert.deepEqual(await store.listImagesByState([]), []);

    const v = await store.insertVersion(versionInput(img));
    const b = await store.insertBuild(buildInput(v));
    await store.setTags(tn.id, 'image', img.id, { k: 'v' });
    await store.deleteImage(tn.id, img.id);
    assert.equal(await store.getImage(tn.id, img.id), undefined);
    assert.equal(await store.getVersion(tn.id, img.id, '1.0'), undefined);
    assert.equal(await store.getBuild(tn.id, b.id), undefined);
    assert.deepEqual(await store.listTags(tn.id, 'image', img.id), {});
    await rejectsWith(store.deleteImage(tn.id, img.id), 'IMAGE_NOT_FOUND');
    const again = await store.insertImage(imageInput(tn.id, 'app'));
    assert.equal(await store.nextVersion(tn.id, again.id), '1.0', 'a new image with a reused name starts afresh');
  });

  test('versions: numbered 1.0, 1.1, ...; explicit numbers; never reused; settings round-trip', async (t) => {
    const { store } = await fresh(t, make);
    const tn = await store.createTenant('acme');
    const img = await store.insertImage(imageInput(tn.id, 'app'));
    assert.equal(await store.nextVersion(tn.id, img.id), '1.0');
    const v10 = await store.insertVersion(versionInput(img));
    assert.equal(v10.version, '1.0');
    assert.deepEqual(v10.settings, settings());
    assert.equal((await store.insertVersion(versionInput(img))).version, '1.1');
    assert.equal(await store.nextVersion(tn.id, img.id), '1.2');
    assert.equal((await store.insertVersion(versionInput(img, '2.0'))).version, '2.0');
    assert.equal(await store.nextVersion(tn.id, img.id), '2.1');
    assert.equal((await store.insertVersion(versionInput(img))).version, '2.1');
    await rejectsWith(store.insertVersion(versionInput(img, '1.1')), 'STORE_CONFLICT');
    for (const bad of ['1', '1.01', 'a.b', '1.2.3', '-1.0', ' 1.0']) {
      await rejectsWith(store.insertVersion(versionInput(img, bad)), 'CUBBY_VALIDATION');
    }
    await rejectsWith(store.insertVersion(versionInput({ ...img, id: 'im_missing' })), 'IMAGE_NOT_FOUND');
    await rejectsWith(store.nextVersion(tn.id, 'im_missing'), 'IMAGE_NOT_FOUND');

    await store.deleteVersion(tn.id, img.id, '2.1');
    assert.equal(await store.getVersion(tn.id, img.id, '2.1'), undefined);
    assert.equal(await store.nextVersion(tn.id, img.id), '2.2', 'a deleted number is not handed out again');
    await rejectsWith(store.deleteVersion(tn.id, img.id, '2.1'), 'IMAGE_VERSION_NOT_FOUND');
    assert.equal((await store.insertVersion(versionInput(img, '1.5'))).version, '1.5', 'a lower explicit number is fine');
    assert.equal(await store.nextVersion(tn.id, img.id), '2.2');
    assert.equal(await store.getVersion(tn.id, img.id, '1.00'), undefined, 'non-canonical text matches nothing');
  });

  test('versions: patch, latest matching, list by state', async (t) => {
    const { store } = await fresh(t, make);
    const tn = await store.createTenant('acme');
    const img = await store.insertImage(imageInput(tn.id, 'app'));
    for (let i = 0; i < 4; i++) await store.insertVersion(versionInput(img));
    const ok = await store.updateVersion(tn.id, img.id, '1.1', {
      state: 'SUCCESSFUL',
      stateReason: 'built',
      rootfsPath: '/var/lib/cubby/r',
      snapshotPath: '/var/lib/cubby/s',
    });
    assert.equal(ok.state, 'SUCCESSFUL');
    assert.equal(ok.rootfsPath, '/var/lib/cubby/r');
    assert.ok(ok.updatedAt);
    const noReason = await store.updateVersion(tn.id, img.id, '1.1', { stateReason: null });
    assert.equal(noReason.stateReason, undefined);
    assert.equal(noReason.snapshotPath, '/var/lib/cubby/s');
    await store.updateVersion(tn.id, img.id, '1.2', { state: 'SUCCESSFUL', status: 'INACTIVE' });
    await store.updateVersion(tn.id, img.id, '1.3', { state: 'FAILED' });
    await rejectsWith(store.updateVersion(tn.id, img.id, '1.1', { settings: settings() } as never), 'CUBBY_VALIDATION');
    await rejectsWith(store.updateVersion(tn.id, img.id, '9.9', { state: 'FAILED' }), 'IMAGE_VERSION_NOT_FOUND');

    assert.equal((await store.findLatestVersion(tn.id, img.id))?.version, '1.3');
    assert.equal((await store.findLatestVersion(tn.id, img.id, { states: ['SUCCESSFUL'] }))?.version, '1.2');
    assert.equal((await store.findLatestVersion(tn.id, img.id, { states: ['SUCCESSFUL'], status: 'ACTIVE' }))?.version, '1.1');
    assert.equal(await store.findLatestVersion(tn.id, img.id, { states: ['DELETED'] }), undefined);
    assert.deepEqual(
      (await store.listVersionsByState(['PENDING'])).map((v) => v.version),
      ['1.0'],
    );
    assert.deepEqual((await store.listVersionsByState(['FAILED', 'PENDING'])).map((v) => v.version).sort(), ['1.0', '1.3']);
  });

  test('builds: insert under a version, patch, list by state', async (t) => {
    const { store } = await fresh(t, make);
    const tn = await store.createTenant('acme');
    const img = await store.insertImage(imageInput(tn.id, 'app'));
    const v = await store.insertVersion(versionInput(img));
    const b = await store.insertBuild(buildInput(v));
    assert.equal(b.state, 'PENDING');
    assert.deepEqual(await store.getBuild(tn.id, b.id), b);
    await rejectsWith(store.insertBuild({ ...buildInput(v), version: '7.7' }), 'IMAGE_VERSION_NOT_FOUND');
    await rejectsWith(store.insertBuild({ ...buildInput(v), id: b.id }), 'STORE_CONFLICT');
    const done = await store.updateBuild(tn.id, b.id, {
      state: 'SUCCESSFUL',
      logPath: '/l',
      memorySnapshotBytes: 123456789012,
      diskSnapshotBytes: 5,
      codeInstallBytes: 0,
    });
    assert.equal(done.memorySnapshotBytes, 123456789012);
    assert.equal(done.codeInstallBytes, 0);
    assert.deepEqual(await store.getBuild(tn.id, b.id), done);
    const b2 = await store.insertBuild(buildInput(v));
    await store.updateBuild(tn.id, b2.id, { state: 'IN_PROGRESS' });
    assert.deepEqual(
      (await store.listBuildsByState(['IN_PROGRESS', 'PENDING'])).map((x) => x.id),
      [b2.id],
    );
    await rejectsWith(store.updateBuild(tn.id, 'bd_missing', { state: 'FAILED' }), 'IMAGE_BUILD_NOT_FOUND');
    await store.deleteVersion(tn.id, img.id, '1.0');
    assert.equal(await store.getBuild(tn.id, b.id), undefined, 'builds go with their version');
  });
}
