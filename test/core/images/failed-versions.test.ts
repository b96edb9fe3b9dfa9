/**
 * The one way a version's build is recorded as FAILED (version-files.ts failVersion), from its
 * second caller: a build cut by a daemon restart is FAILED at start-up with the reason, its
 * image CREATE_FAILED, what it wrote gone but its log. And an image being deleted refuses an
 * update with an image error (IMAGE_DELETING, a conflict), not a microVM one.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { isCubbyError } from '../../../src/errors/index.js';
import { eventually, fakeSettings, readyImage, startFakeCore, type FakeWorld } from '../../support/fakes/core.js';

describe('failed and deleting image versions', () => {
  let w: FakeWorld;
  beforeEach(async () => {
    w = await startFakeCore();
  });
  afterEach(() => w.close());

  test('a build cut by a daemon restart is FAILED at start-up, its files dropped and its log kept', async () => {
    // The daemon "dies" while the build snapshots its app: the rootfs is written, the step never returns.
    w.runtime.faults.crash('checkpoint', 'before');
    await w.core.services.images.create(w.caller, { name: 'cut', settings: fakeSettings() });
    await eventually(() => w.runtime.faults.calls.includes('checkpoint'), 'the build reaching its snapshot');
    const img = await w.core.services.images.get(w.caller, 'cut');
    const dir = `${w.config.dataDir}/images/${img.id}/1.0`;
    assert.equal(w.fs.exists(`${dir}/rootfs`), true, 'the cut build wrote its rootfs');
    assert.equal((await w.core.services.images.getVersion(w.caller, 'cut', '1.0')).state, 'IN_PROGRESS');

    w = w.restart();
    await w.core.start();
    const v = await w.core.services.images.getVersion(w.caller, 'cut', '1.0');
    assert.equal(v.state, 'FAILED');
    assert.equal(v.stateReason, 'build interrupted by a daemon restart; update the image to build again');
    const after = await w.core.services.images.get(w.caller, 'cut');
    assert.equal(after.state, 'CREATE_FAILED');
    assert.equal(after.latestFailedVersion, '1.0');
    const [b] = (await w.core.services.images.listBuilds(w.caller, 'cut', '1.0', {})).items;
    assert.equal(b?.state, 'FAILED');
    assert.equal(b?.stateReason, v.stateReason);
    for (const sub of ['context', 'rootfs', 'snapshot']) assert.equal(w.fs.exists(`${dir}/${sub}`), false, `${sub} removed`);
    assert.match(await w.core.services.images.buildLog(w.caller, 'cut', '1.0'), /unpacked/, 'the log stays');
  });

  test('updating an image that is being deleted is IMAGE_DELETING (conflict) and records nothing', async () => {
    const name = await readyImage(w);
    const img = await w.core.services.images.get(w.caller, name);
    await w.store.updateImage(w.caller.tenant.id, img.id, { state: 'DELETING' });
    await assert.rejects(w.core.services.images.update(w.caller, name, fakeSettings()), (e: unknown) => {
      assert.ok(isCubbyError(e, 'IMAGE_DELETING'), String(e));
      assert.equal(e.kind, 'conflict');
      assert.equal(e.message, `image ${name} is being deleted`);
      return true;
    });
    assert.deepEqual(
      (await w.core.services.images.listVersions(w.caller, name, {})).items.map((v) => v.version),
      ['1.0'],
    );
  });
});
