/**
 * A rebuild's export shares (hard links) the files it has in common with the image's previous
 * version (<image>/<version>/rootfs), copies what changed, and outlives the previous version.
 * Real builds with buildah on the shared debian-12-python base.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { BuildahBuilder } from '../../../src/images/build/buildah-builder.js';
import { findRsync } from '../../../src/images/build/export-link.js';
import { ensureTestBaseImage } from '../../support/base-image.js';

const BASE = 'debian-12-python';

test('a rebuild shares unchanged files with the previous version and survives its deletion', { timeout: 20 * 60_000 }, async (t) => {
  assert.ok(await findRsync(), 'rsync is not installed (scripts/install-system.sh installs it)');
  await ensureTestBaseImage(BASE);
  const builder = new BuildahBuilder();
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-export-link-'));
  t.after(() => fs.rm(work, { recursive: true, force: true }));
  const imageDir = path.join(work, 'image');
  const build = async (version: string, app: string): Promise<{ rootfs: string; log: string }> => {
    const ctx = path.join(work, `ctx-${version}`);
    await fs.mkdir(ctx, { recursive: true });
    await fs.writeFile(path.join(ctx, 'Dockerfile'), `FROM ${BASE}\nCOPY app.py /app/app.py\nCMD ["python3", "/app/app.py"]\n`);
    await fs.writeFile(path.join(ctx, 'app.py'), app);
    const out = path.join(imageDir, version, 'rootfs');
    await fs.mkdir(path.dirname(out), { recursive: true, mode: 0o700 });
    const built = await builder.build({ contextDir: ctx, base: { name: BASE }, outputDir: out });
    return { rootfs: built.rootfs, log: built.log };
  };

  const v1 = await build('v1', 'print("one")\n');
  assert.doesNotMatch(v1.log, /shared with/, 'the first build has nothing to share with');
  const v2 = await build('v2', 'print("two")\n');
  assert.match(v2.log, /unchanged files shared with v1/);
  // Known unchanged from the layers (export-delta.ts), not compared file by file.
  assert.match(v2.log, /hard-link copy \d+ ms, \d+ paths of the later layers copied/);
  // The two versions differ only where the later layer (COPY app.py) does.
  const changed = execFileSync('rsync', ['-naHAX', '--numeric-ids', '--checksum', '--delete', '-i', `${v1.rootfs}/`, `${v2.rootfs}/`])
    .toString()
    .trim()
    .split('\n')
    .map((l) => l.slice(12));
  assert.ok(changed.includes('app/app.py'), changed.join('\n'));
  assert.deepEqual(
    changed.filter((p) => !['./', 'app/', 'app/app.py'].includes(p)),
    [],
  );

  // Base files: the same inode in both versions; the changed file: its own copy.
  const shared = ['etc/debian_version', 'usr/lib/os-release'];
  for (const f of shared) {
    const [a, b] = await Promise.all([fs.stat(path.join(v1.rootfs, f)), fs.stat(path.join(v2.rootfs, f))]);
    assert.equal(b.ino, a.ino, `${f} is shared`);
    assert.ok(b.nlink >= 2, `${f} has both links`);
  }
  const [a1, a2] = await Promise.all([fs.stat(path.join(v1.rootfs, 'app/app.py')), fs.stat(path.join(v2.rootfs, 'app/app.py'))]);
  assert.notEqual(a2.ino, a1.ino, 'the changed file is not shared');
  assert.equal(await fs.readFile(path.join(v1.rootfs, 'app/app.py'), 'utf8'), 'print("one")\n');
  assert.equal(await fs.readFile(path.join(v2.rootfs, 'app/app.py'), 'utf8'), 'print("two")\n');
  // Everything the builder reports as sharing is linked: the bulk of the base is one inode.
  const py1 = await fs.stat(path.join(v1.rootfs, 'usr/bin', await pythonBinary(v1.rootfs)));
  const py2 = await fs.stat(path.join(v2.rootfs, 'usr/bin', await pythonBinary(v2.rootfs)));
  assert.equal(py2.ino, py1.ino, 'the python binary is shared');

  // Deleting the old version (rm -rf: unlinks only) leaves the new one whole.
  const before = await fs.readFile(path.join(v2.rootfs, 'etc/debian_version'));
  await fs.rm(path.join(imageDir, 'v1'), { recursive: true });
  assert.deepEqual(await fs.readFile(path.join(v2.rootfs, 'etc/debian_version')), before);
  assert.equal((await fs.stat(path.join(v2.rootfs, 'etc/debian_version'))).nlink, 1);
  assert.equal(await fs.readFile(path.join(v2.rootfs, 'app/app.py'), 'utf8'), 'print("two")\n');
  assert.equal((await fs.stat(path.join(v2.rootfs, 'usr/bin', await pythonBinary(v2.rootfs)))).size, py2.size);
});

/** The real (non-symlink) python3.x binary of a rootfs. */
async function pythonBinary(rootfs: string): Promise<string> {
  for (const f of await fs.readdir(path.join(rootfs, 'usr/bin'))) {
    if (/^python3\.\d+$/.test(f) && (await fs.lstat(path.join(rootfs, 'usr/bin', f))).isFile()) return f;
  }
  throw new Error('no python3.x binary in the rootfs');
}

test('a rebuild whose steps remove, hide and uncover base files exports exactly the image', { timeout: 20 * 60_000 }, async (t) => {
  await ensureTestBaseImage(BASE);
  const builder = new BuildahBuilder();
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-export-delta-real-'));
  t.after(() => fs.rm(work, { recursive: true, force: true }));
  const build = async (dir: string, run: string): Promise<{ rootfs: string; log: string }> => {
    const ctx = path.join(work, `ctx-${dir.replace(/\//g, '-')}`);
    await fs.mkdir(ctx, { recursive: true });
    await fs.writeFile(path.join(ctx, 'Dockerfile'), `FROM ${BASE}\nRUN ${run}\nCOPY app.py /app/app.py\nCMD ["python3", "/app/app.py"]\n`);
    await fs.writeFile(path.join(ctx, 'app.py'), 'print("hi")\n');
    const out = path.join(work, dir, 'rootfs');
    await fs.mkdir(path.dirname(out), { recursive: true, mode: 0o700 });
    const built = await builder.build({ contextDir: ctx, base: { name: BASE }, outputDir: out });
    return { rootfs: built.rootfs, log: built.log };
  };
  // v1 removes a base directory (a whiteout); v2 does not (uncovers it) but removes others, and
  // replaces a base directory by a new one (opaque), with a hard link and a symlink of its own.
  await build('image/v1', 'rm -rf /usr/share/doc && mkdir -p /opt/o && echo one > /opt/o/a && ln /opt/o/a /opt/o/b');
  const v2Run =
    'rm -rf /usr/share/common-licenses /etc/debian_version /etc/apt && mkdir /etc/apt && echo new > /etc/apt/x && ' +
    'mkdir -p /opt/o && echo two > /opt/o/a && ln /opt/o/a /opt/o/c && ln -s a /opt/o/s && chmod 700 /opt/o';
  const v2 = await build('image/v2', v2Run);
  assert.match(v2.log, /paths of the later layers copied/);
  // The same Dockerfile exported whole (nothing to link from): equal but for the times of what RUN wrote.
  const ref = await build('other/v1', v2Run);
  assert.match(ref.log, /copied whole/);
  const diff = execFileSync('rsync', [
    '-nrlpgoDHAX',
    '--numeric-ids',
    '--checksum',
    '--delete',
    '-i',
    `${ref.rootfs}/`,
    `${v2.rootfs}/`,
  ]).toString();
  assert.equal(diff, '', 'the delta export is the image');
  assert.ok((await fs.stat(path.join(v2.rootfs, 'usr/share/doc'))).isDirectory(), 'uncovered');
  assert.deepEqual(await fs.readdir(path.join(v2.rootfs, 'etc/apt')), ['x']);
  assert.equal(await fs.stat(path.join(v2.rootfs, 'etc/debian_version')).catch(() => undefined), undefined);
  assert.equal((await fs.stat(path.join(v2.rootfs, 'opt/o/a'))).ino, (await fs.stat(path.join(v2.rootfs, 'opt/o/c'))).ino);
});
