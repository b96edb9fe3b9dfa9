/**
 * The record of what an exported rootfs was made of holds only for that very directory as the
 * export left it: a change anywhere in its directories (a mount point a runtime made), or a
 * re-made directory at the same path, and the next rebuild compares file by file instead.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { pruneExportRecords, readExportRecord, writeExportRecord } from '../../../src/images/build/export-layers.js';

test('an export record holds until a directory of its rootfs changes or the rootfs is made again', async (t) => {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-export-layers-'));
  t.after(() => fs.rm(work, { recursive: true, force: true }));
  const records = path.join(work, 'exports');
  const rootfs = path.join(work, 'image', 'v1', 'rootfs');
  await fs.mkdir(path.join(rootfs, 'etc', 'deep'), { recursive: true });
  await fs.writeFile(path.join(rootfs, 'etc', 'deep', 'f'), 'x');
  const layers = [{ digest: 'sha256:base' }, { digest: 'sha256:app', paths: ['app', 'app/x'] }];
  await writeExportRecord(records, rootfs, layers);
  assert.deepEqual(await readExportRecord(records, rootfs), layers);
  assert.equal(await readExportRecord(records, path.join(work, 'image', 'v2', 'rootfs')), undefined, 'no record of another rootfs');

  // Reading and linking from it leave it valid; a new entry deep inside does not.
  await fs.link(path.join(rootfs, 'etc', 'deep', 'f'), path.join(work, 'linked'));
  await sleep(30);
  assert.deepEqual(await readExportRecord(records, rootfs), layers, 'a hard link to a file changes no directory');
  await fs.writeFile(path.join(rootfs, 'etc', 'deep', 'mountpoint'), '');
  assert.equal(await readExportRecord(records, rootfs), undefined, 'changed after its export');

  // Made again at the same path: not the recorded directory; its record goes at the next prune.
  await writeExportRecord(records, rootfs, layers);
  assert.deepEqual(await readExportRecord(records, rootfs), layers);
  await fs.rm(rootfs, { recursive: true });
  await fs.mkdir(path.join(work, 'placeholder'));
  await fs.mkdir(rootfs);
  assert.equal(await readExportRecord(records, rootfs), undefined, 'a re-made directory');
  await pruneExportRecords(records);
  assert.deepEqual(await fs.readdir(records), []);
});
