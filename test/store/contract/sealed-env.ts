/** Contract: image environment variables are sealed at rest, read back transparently, and old clear rows get sealed on open. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { imageInput, settings, versionInput } from './fixtures.js';
import { fresh, type MakeStore, rejectsWith } from './harness.js';

export function sealedEnvTests(make: MakeStore): void {
  test('environment variables: sealed at rest, read back by every read; clear rows from before are sealed on open', async (t) => {
    const h = await fresh(t, make);
    const { store } = h;
    const secret = `env-secret-${randomBytes(12).toString('hex')}`;
    const tn = await store.createTenant('acme');
    const img = await store.insertImage(imageInput(tn.id, 'app'));
    const env = { API_TOKEN: secret, MODE: 'prod' };
    const v = await store.insertVersion({ ...versionInput(img), settings: settings({ environment: env }) });
    assert.deepEqual(v.settings.environment, env);
    assert.deepEqual((await store.getVersion(tn.id, img.id, v.version))?.settings.environment, env);
    assert.deepEqual((await store.findLatestVersion(tn.id, img.id))?.settings.environment, env);
    assert.deepEqual((await store.listVersions(tn.id, img.id)).items[0]?.settings.environment, env);
    const empty = await store.insertVersion({ ...versionInput(img), settings: settings({ environment: {} }) });
    assert.deepEqual((await store.getVersion(tn.id, img.id, empty.version))?.settings.environment, {});

    if (h.rawBytes) assert.equal((await h.rawBytes()).includes(Buffer.from(secret)), false, 'the value in clear at rest');
    if (h.rawQuery) {
      const [row] = await h.rawQuery('SELECT settings FROM image_versions WHERE image_id = ? AND version = ?', img.id, v.version);
      const column = String(row?.settings);
      assert.equal(column.includes(secret), false, 'the value in clear in the column');
      assert.equal(column.includes('API_TOKEN'), false, 'even the names are sealed');
      assert.ok(column.includes('debian-12-python'), 'the rest of the settings stays readable');
    }
    if (h.reopen) {
      const other = await h.reopen();
      assert.deepEqual((await other.getVersion(tn.id, img.id, v.version))?.settings.environment, env);
    }
    if (!h.rawQuery || !h.reopen) return;

    // A sealed environment copied onto another version does not open there.
    const [sealed] = await h.rawQuery('SELECT settings FROM image_versions WHERE image_id = ? AND version = ?', img.id, v.version);
    await h.rawQuery(
      'UPDATE image_versions SET settings = ? WHERE image_id = ? AND version = ?',
      String(sealed?.settings),
      img.id,
      empty.version,
    );
    await rejectsWith(store.getVersion(tn.id, img.id, empty.version), 'STORE_SECRET_UNREADABLE');

    // A row written in clear (before sealing existed) still reads, and the next open seals it.
    const legacy = `legacy-secret-${randomBytes(12).toString('hex')}`;
    const old = settings({ environment: { OLD_TOKEN: legacy } });
    await h.rawQuery(
      'UPDATE image_versions SET settings = ? WHERE image_id = ? AND version = ?',
      JSON.stringify(old),
      img.id,
      empty.version,
    );
    assert.deepEqual((await store.getVersion(tn.id, img.id, empty.version))?.settings, old);
    const [clear] = await h.rawQuery('SELECT settings FROM image_versions WHERE image_id = ? AND version = ?', img.id, empty.version);
    assert.ok(String(clear?.settings).includes(legacy), 'the row really is clear before the open');
    const opened = await h.reopen();
    const [after] = await h.rawQuery('SELECT settings FROM image_versions WHERE image_id = ? AND version = ?', img.id, empty.version);
    assert.equal(String(after?.settings).includes(legacy), false, 'sealed by the open');
    assert.deepEqual((await opened.getVersion(tn.id, img.id, empty.version))?.settings, old);
    assert.deepEqual((await store.getVersion(tn.id, img.id, empty.version))?.settings, old, 'other handles read it too');
    assert.deepEqual((await opened.getVersion(tn.id, img.id, v.version))?.settings.environment, env, 'sealed rows are left alone');
    if (h.rawBytes) {
      const raw = await h.rawBytes();
      assert.equal(raw.includes(Buffer.from(legacy)), false, 'no copy of the old clear row left at rest');
      assert.equal(raw.includes(Buffer.from(secret)), false);
    }
  });
}
