/**
 * The delta export (a rebuild's rootfs from the previous one plus what the later layers name)
 * against real cp and rsync, on trees laid out as an image's layers would leave them: the result
 * must equal the image exactly (rsync's own comparison: content, modes, owners, times, links),
 * share the unchanged files, and leave the previous version untouched.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { deltaExport, deltaPlan } from '../../../src/images/build/export-delta.js';
import { findRsync } from '../../../src/images/build/export-link.js';

const BASE = { digest: 'sha256:base' };

async function write(root: string, files: Record<string, string>): Promise<void> {
  for (const [f, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, f)), { recursive: true });
    await fs.writeFile(path.join(root, f), text);
  }
}

/** What rsync would change to make `b` equal `a` (empty: equal in everything rsync -aHAX keeps). */
function differences(a: string, b: string): string {
  return execFileSync('rsync', ['-naHAX', '--numeric-ids', '--checksum', '--delete', '-i', `${a}/`, `${b}/`]).toString();
}

/** Every entry's kind, mode, owner, size, mtime and content: what a writer through a shared inode would change. */
async function fingerprint(root: string): Promise<string> {
  return (
    execFileSync('find', [root, '-printf', '%P %y %m %U:%G %s %T@ %l\\n']).toString() +
    execFileSync('sh', ['-c', `cd ${root} && find . -type f -exec sha256sum {} + | sort`]).toString()
  );
}

test('a delta export equals the image, shares unchanged files and never writes the previous version', async (t) => {
  const rsync = await findRsync();
  assert.ok(rsync, 'rsync is not installed (scripts/install-system.sh installs it)');
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-export-delta-'));
  t.after(() => fs.rm(work, { recursive: true, force: true }));
  const base = path.join(work, 'base');
  await write(base, {
    'etc/keep': 'keep\n',
    'etc/gone': 'removed by the new image\n',
    'usr/share/doc/pkg/a': 'a\n',
    'usr/share/doc/pkg/b': 'b\n',
    'opt/keep/x': 'x1\n',
    'var/cache/opaque/old': 'hidden by the previous image\n',
    'usr/bin/tool': '#!/bin/sh\n',
    'app/.keep': '',
    'srv/data/old1': 'hidden by the new image (opaque directory)\n',
    'etc/gone2': 'removed by the new image (a .wh. whiteout file)\n',
  });
  await fs.link(path.join(base, 'usr/bin/tool'), path.join(base, 'usr/bin/tool2'));
  await fs.symlink('usr/bin', path.join(base, 'bin'));
  await fs.chmod(path.join(base, 'usr/bin/tool'), 0o4755);
  await fs.utimes(path.join(base, 'etc/keep'), new Date('2020-01-01'), new Date('2020-01-01'));

  // The previous version: the base, then a layer that removed docs, replaced a directory (opaque) and added the app.
  const prev = path.join(work, 'image', 'v1', 'rootfs');
  await fs.mkdir(path.dirname(prev), { recursive: true });
  execFileSync('cp', ['-a', base, prev]);
  await fs.rm(path.join(prev, 'usr/share/doc'), { recursive: true });
  await fs.rm(path.join(prev, 'var/cache/opaque'), { recursive: true });
  await write(prev, { 'var/cache/opaque/new1': 'n\n', 'app/index.js': 'one\n' });
  const prevPaths = [
    'usr',
    'usr/share',
    'usr/share/doc',
    'var',
    'var/cache',
    'var/cache/opaque',
    'var/cache/opaque/new1',
    'app',
    'app/index.js',
  ];

  // The new image (as its mount shows it): the base, then a layer of its own.
  const mnt = path.join(work, 'mnt');
  execFileSync('cp', ['-a', base, mnt]);
  await fs.rm(path.join(mnt, 'etc/gone'));
  await fs.rm(path.join(mnt, 'etc/gone2'));
  await fs.rm(path.join(mnt, 'srv/data'), { recursive: true });
  await write(mnt, { 'srv/data/fresh': 'f\n' });
  await write(mnt, { 'app/index.js': 'two\n', 'opt/keep/x': 'x2\n', 'app/h1': 'linked\n' });
  await fs.link(path.join(mnt, 'app/h1'), path.join(mnt, 'app/h2'));
  await fs.symlink('index.js', path.join(mnt, 'app/link'));
  await fs.chmod(path.join(mnt, 'opt/keep'), 0o700);
  await fs.utimes(path.join(mnt, 'app'), new Date('2021-02-03'), new Date('2021-02-03'));
  await fs.utimes(mnt, new Date('2022-03-04'), new Date('2022-03-04'));
  const nextPaths = ['etc', 'etc/gone', 'app', 'app/index.js', 'app/h1', 'app/h2', 'app/link', 'opt', 'opt/keep', 'opt/keep/x'];
  // Whiteouts and opaque directories as a layer's directory may show them: a marker file, or a
  // directory whose hidden entries are listed nowhere.
  nextPaths.push('etc/.wh.gone2', 'srv/data', 'srv/data/fresh');

  const before = await fingerprint(prev);
  const plan = deltaPlan([BASE, { digest: 'sha256:p1', paths: prevPaths }], [BASE, { digest: 'sha256:n1', paths: nextPaths }]);
  assert.ok(plan);
  const out = path.join(work, 'image', 'v2', 'rootfs');
  await fs.mkdir(out, { recursive: true });
  const r = await deltaExport({ mnt, out, prev, plan, rsync, tmpDir: work });
  assert.ok(r.ok, r.ok ? '' : r.why);
  assert.equal(differences(mnt, out), '', 'the export is the image exactly');
  assert.equal(await fingerprint(prev), before, 'the previous version is unchanged');
  for (const f of ['etc/keep', 'usr/bin/tool', 'usr/bin/tool2']) {
    assert.equal((await fs.stat(path.join(out, f))).ino, (await fs.stat(path.join(prev, f))).ino, `${f} is shared`);
  }
  for (const f of ['app/index.js', 'opt/keep/x', 'usr/share/doc/pkg/a']) {
    assert.notEqual(
      (await fs.stat(path.join(out, f))).ino,
      (await fs.stat(path.join(prev, f)).catch(() => ({ ino: -1 }))).ino,
      `${f} is its own`,
    );
  }
  assert.equal((await fs.stat(path.join(out, 'app/h1'))).ino, (await fs.stat(path.join(out, 'app/h2'))).ino, 'hard links kept');

  // A changed file hard linked to an unchanged one cannot be kept by a delta: refused, for the full comparison.
  await fs.link(path.join(mnt, 'etc/keep'), path.join(mnt, 'app/h3'));
  const out2 = path.join(work, 'image', 'v3', 'rootfs');
  await fs.mkdir(out2, { recursive: true });
  const r2 = await deltaExport({
    mnt,
    out: out2,
    prev,
    plan: deltaPlan([BASE, { digest: 'sha256:p1', paths: prevPaths }], [BASE, { digest: 'sha256:n2', paths: [...nextPaths, 'app/h3'] }])!,
    rsync,
    tmpDir: work,
  });
  assert.deepEqual(r2, { ok: false, why: 'a changed file is hard linked to an unchanged one' });
  assert.equal(await fingerprint(prev), before, 'the previous version is unchanged');
});

test('a delta needs shared first layers and every later layer listed', () => {
  assert.equal(deltaPlan([{ digest: 'a' }], [{ digest: 'b' }]), undefined, 'nothing in common');
  assert.equal(deltaPlan([BASE, { digest: 'p' }], [BASE, { digest: 'n', paths: ['x'] }]), undefined, 'a later layer not listed');
  assert.equal(deltaPlan([BASE], [BASE, { digest: 'n', paths: ['a/../../etc'] }]), undefined, 'a path that climbs out');
  assert.deepEqual(
    [
      ...(deltaPlan([BASE, { digest: 'same', paths: ['big'] }], [BASE, { digest: 'same', paths: ['big'] }, { digest: 'n', paths: ['a/b'] }])
        ?.paths ?? []),
    ].sort(),
    ['', 'a', 'a/b'],
  );
});
