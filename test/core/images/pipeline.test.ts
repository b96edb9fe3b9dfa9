/**
 * The image build pipeline (pipeline.ts) and images service (service.ts) over the real core:
 * a build that succeeds records its snapshot and sizes; each failing step marks the version
 * FAILED with the reason, keeps the log and leaves no sandbox or build files; updates add
 * versions without touching older ones; in-use images cannot be deleted.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { isCubbyError } from '../../../src/errors/index.js';
import { FAILING_ARTIFACT_MARK, BAD_ARTIFACT_MARK } from '../../support/fakes/fake-images.js';
import { fakeSettings, readyImage, startFakeCore, type FakeWorld } from '../../support/fakes/core.js';

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isCubbyError(e), String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe('image builds', () => {
  let w: FakeWorld;
  beforeEach(async () => {
    w = await startFakeCore();
  });
  afterEach(() => w.close());

  const images = () => w.core.services.images;
  const versionDir = async (name: string, v: string) => `${w.config.dataDir}/images/${(await images().get(w.caller, name)).id}/${v}`;

  test('success: PENDING at once, then SUCCESSFUL with a restorable snapshot, sizes and a log; nothing left running', async () => {
    const { image, version } = await images().create(w.caller, { name: 'app', settings: fakeSettings() });
    assert.equal(image.state, 'CREATING');
    assert.equal(version.state, 'PENDING');
    await w.core.images.drain();
    const v = await images().getVersion(w.caller, 'app', '1.0');
    assert.equal(v.state, 'SUCCESSFUL');
    assert.ok(v.snapshotPath && v.rootfsPath);
    await w.runtime.inspectCheckpoint(v.snapshotPath);
    const img = await images().get(w.caller, 'app');
    assert.equal(img.state, 'CREATED');
    assert.equal(img.latestActiveVersion, '1.0');
    const [b] = (await images().listBuilds(w.caller, 'app', '1.0', {})).items;
    assert.equal(b?.state, 'SUCCESSFUL');
    assert.ok((b?.memorySnapshotBytes ?? 0) > 0 && (b?.diskSnapshotBytes ?? 0) > 0 && (b?.codeInstallBytes ?? 0) > 0);
    const log = await images().buildLog(w.caller, 'app', '1.0');
    assert.match(log, /\[build\] STEP 1\/2/);
    assert.match(log, /SUCCESSFUL/);
    assert.deepEqual(w.runtime.ids(), [], 'the build sandbox is destroyed');
    assert.equal(w.fs.exists(`${await versionDir('app', '1.0')}/context`), false, 'the unpacked context is dropped');
    assert.deepEqual(w.hooks.names(), ['ready'], 'the ready hook was waited for');
  });

  for (const [what, inject, code, pattern] of [
    ['the Dockerfile build', (x: FakeWorld) => x.builder, 'BUILD_FAILED', /Dockerfile build failed/],
    [
      'unpacking',
      (x: FakeWorld) => x.unpacker.faults.fail('unpack', 'ARTIFACT_FETCH_FAILED'),
      'ARTIFACT_FETCH_FAILED',
      /injected fault in unpack/,
    ],
    [
      'the managed base',
      (x: FakeWorld) => x.managed.faults.fail('ensure', 'IMAGE_BASE_BUILD_FAILED'),
      'IMAGE_BASE_BUILD_FAILED',
      /injected/,
    ],
    ['the app start', (x: FakeWorld) => x.runtime.faults.fail('create', 'RUNTIME_START_FAILED'), 'RUNTIME_START_FAILED', /injected/],
    ['the ready hook', (x: FakeWorld) => x.hooks.faults.fail('ready', 'HOOK_FAILED'), 'APP_NOT_READY', /never got ready/],
    [
      'the snapshot',
      (x: FakeWorld) => x.runtime.faults.fail('checkpoint', 'RUNTIME_CHECKPOINT_FAILED'),
      'RUNTIME_CHECKPOINT_FAILED',
      /injected/,
    ],
    ['the validate hook', (x: FakeWorld) => x.hooks.faults.fail('validate', 'HOOK_FAILED'), 'VALIDATE_FAILED', /validation failed/],
    [
      'a Dockerfile without CMD',
      (x: FakeWorld) => {
        x.builder.config = { ...x.builder.config, cmd: [] };
      },
      'DOCKERFILE_INVALID',
      /neither ENTRYPOINT nor CMD/,
    ],
  ] as const) {
    test(`failure in ${what}: FAILED with the reason (${code}), log kept, nothing left`, async () => {
      inject(w);
      const uri = what === 'the Dockerfile build' ? `file:///srv/${FAILING_ARTIFACT_MARK}.zip` : 'file:///srv/app.zip';
      const hooks = { port: 9000, timeouts: {}, enabled: { ready: true, validate: true } };
      await images().create(w.caller, { name: 'broken', settings: fakeSettings({ codeArtifactUri: uri, hooks }) });
      await w.core.images.drain();
      const v = await images().getVersion(w.caller, 'broken', '1.0');
      assert.equal(v.state, 'FAILED');
      assert.match(v.stateReason ?? '', pattern);
      const img = await images().get(w.caller, 'broken');
      assert.equal(img.state, 'CREATE_FAILED');
      assert.equal(img.latestFailedVersion, '1.0');
      assert.equal((await images().listBuilds(w.caller, 'broken', '1.0', {})).items[0]?.state, 'FAILED');
      assert.match(await images().buildLog(w.caller, 'broken', '1.0'), /FAILED: /);
      assert.deepEqual(w.runtime.ids(), [], 'no build or validation sandbox is left');
      const dir = await versionDir('broken', '1.0');
      for (const sub of ['context', 'rootfs', 'snapshot']) assert.equal(w.fs.exists(`${dir}/${sub}`), false, `${sub} removed`);
      await rejectsCode(w.core.services.microvms.run(w.caller, { image: 'broken' }), 'IMAGE_NOT_READY');
      void code;
    });
  }

  test('update: a new version builds beside the old one; a failed update leaves the old one serving', async () => {
    await readyImage(w, 'app');
    const u = await images().update(w.caller, 'app', fakeSettings({ environment: { V: '2' } }));
    assert.equal(u.version.version, '1.1');
    assert.equal(u.image.state, 'UPDATING');
    await w.core.images.drain();
    assert.equal((await images().get(w.caller, 'app')).state, 'UPDATED');
    assert.equal((await images().get(w.caller, 'app')).latestActiveVersion, '1.1');
    await images().update(w.caller, 'app', fakeSettings({ codeArtifactUri: `file:///srv/${FAILING_ARTIFACT_MARK}.zip` }));
    await w.core.images.drain();
    const img = await images().get(w.caller, 'app');
    assert.equal(img.state, 'UPDATE_FAILED');
    assert.equal(img.latestActiveVersion, '1.1');
    assert.equal((await images().getVersion(w.caller, 'app', '1.0')).state, 'SUCCESSFUL');
    const m = await w.core.services.microvms.run(w.caller, { image: 'app' });
    assert.equal(m.imageVersion, '1.1', 'launches use the latest successful active version');
  });

  test('requests that cannot build are refused at once and record nothing', async () => {
    await rejectsCode(
      images().create(w.caller, { name: 'x', settings: fakeSettings({ baseImage: 'no-such-base' }) }),
      'IMAGE_BASE_NOT_FOUND',
    );
    await rejectsCode(
      images().create(w.caller, { name: 'x', settings: fakeSettings({ codeArtifactUri: `file:///srv/${BAD_ARTIFACT_MARK}.zip` }) }),
      'ARTIFACT_INVALID',
    );
    await rejectsCode(images().create(w.caller, { name: 'bad name!', settings: fakeSettings() }), 'CUBBY_VALIDATION');
    assert.deepEqual((await images().list(w.caller, {})).items, []);
  });

  test('in use and building: delete refused; after terminate, delete removes files', async () => {
    await readyImage(w, 'app');
    const m = await w.core.services.microvms.run(w.caller, { image: 'app' });
    await rejectsCode(images().delete(w.caller, 'app'), 'IMAGE_IN_USE');
    await rejectsCode(images().deleteVersion(w.caller, 'app', '1.0'), 'IMAGE_IN_USE');
    const gate = w.builder.faults.gate('build');
    await images().update(w.caller, 'app', fakeSettings());
    await gate.entered;
    await w.core.services.microvms.terminate(w.caller, m.id);
    await rejectsCode(images().delete(w.caller, 'app'), 'IMAGE_IN_USE');
    await rejectsCode(images().deleteVersion(w.caller, 'app', '1.1'), 'IMAGE_IN_USE');
    gate.open();
    await w.core.images.drain();
    const dir = await versionDir('app', '1.0');
    assert.equal((await images().delete(w.caller, 'app')).state, 'DELETED');
    assert.equal(w.fs.exists(dir), false);
    await rejectsCode(images().get(w.caller, 'app'), 'IMAGE_NOT_FOUND');
  });

  test('builds run one at a time (buildConcurrency 1), in order', async () => {
    const gate = w.builder.faults.gate('build');
    await images().create(w.caller, { name: 'a', settings: fakeSettings() });
    await images().create(w.caller, { name: 'b', settings: fakeSettings() });
    await gate.entered;
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(w.builder.faults.calls.filter((c) => c === 'build').length, 1, 'the second build waits');
    assert.equal((await images().getVersion(w.caller, 'b', '1.0')).state, 'PENDING');
    gate.open();
    await w.core.images.drain();
    for (const n of ['a', 'b']) assert.equal((await images().getVersion(w.caller, n, '1.0')).state, 'SUCCESSFUL');
  });

  test('managed images: the catalog with the versions built on the host', async () => {
    const list = await images().listManaged({});
    assert.deepEqual(
      list.items.map((m) => m.name),
      ['debian-12-python', 'debian-12-node', 'debian-12-base'],
    );
    const py = await images().getManaged('debian-12-python');
    assert.deepEqual(
      py.versions.map((v) => `${v.version}:${v.status}`),
      ['1.0:DEPRECATED', '1.1:AVAILABLE', '1.2:AVAILABLE'],
    );
    await rejectsCode(images().getManaged('nope'), 'IMAGE_BASE_NOT_FOUND');
  });
});
