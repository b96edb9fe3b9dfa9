/**
 * Managed base images, built for real with debootstrap (about 30 s for debian-12-minimal) in a
 * private cache directory, so that "built once" can be observed; plus the shared test image.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ManagedImages } from '../../../src/images/base/managed-images.js';
import { isCubbyError } from '../../../src/errors/index.js';
import { ensureTestBaseImage } from '../../support/base-image.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ensure-child.js');

interface ChildReport {
  phases: string[];
  createdAt: string;
  rootfs: string;
}

function ensureInChild(cacheDir: string, name: string): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, cacheDir, name], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 8 * 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out.trim()) as ChildReport);
      else reject(new Error(`ensure child exited ${code}: ${err.slice(-2000)}`));
    });
  });
}

test(
  'two processes ensuring the same image build it once; leftovers of a crashed build are removed',
  { timeout: 10 * 60_000 },
  async (t) => {
    const cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-base-'));
    t.after(() => fs.rm(cacheDir, { recursive: true, force: true }));
    // What a build killed midway leaves: a half-made directory.
    const leftover = path.join(cacheDir, 'base/debian-12-minimal/.build-1.0-999999-deadbeef');
    await fs.mkdir(path.join(leftover, 'rootfs/etc'), { recursive: true });
    await fs.writeFile(path.join(leftover, 'rootfs/etc/half'), 'x');

    const started = Date.now();
    const [a, b] = await Promise.all([ensureInChild(cacheDir, 'debian-12-minimal'), ensureInChild(cacheDir, 'debian-12-minimal')]);
    const seconds = (Date.now() - started) / 1000;
    console.error(`debian-12-minimal built in ${seconds.toFixed(1)} s`);
    const builders = [a, b].filter((r) => r.phases.includes('debootstrap'));
    assert.equal(builders.length, 1, `exactly one process builds: ${JSON.stringify([a.phases, b.phases])}`);
    assert.ok(
      [a, b].some((r) => r.phases.includes('cached')),
      'the other one finds it built',
    );
    assert.equal(a.createdAt, b.createdAt);
    assert.equal(a.rootfs, b.rootfs);
    await assert.rejects(fs.lstat(leftover), 'the crashed build is cleaned');
    assert.deepEqual(
      (await fs.readdir(path.join(cacheDir, 'base/debian-12-minimal'))).filter((d) => !d.endsWith('.lock')),
      ['1.0'],
    );

    // In this process: a second ensure builds nothing.
    const images = new ManagedImages({ cacheDir });
    const phases: string[] = [];
    const again = await images.ensure('debian-12-minimal', undefined, (p) => phases.push(p.phase));
    assert.deepEqual(phases, ['cached']);
    assert.equal(again.createdAt, a.createdAt);
    assert.equal(again.status, 'AVAILABLE');
    assert.ok(again.sizeBytes > 50 * 1024 * 1024 && again.sizeBytes < 400 * 1024 * 1024, `size ${again.sizeBytes}`);
    assert.ok(again.packages.some((p) => p.startsWith('bash=')));

    const rootfs = again.rootfs;
    assert.equal(await fs.readFile(path.join(rootfs, 'etc/hostname'), 'utf8'), 'cubby\n');
    assert.match(await fs.readFile(path.join(rootfs, 'etc/hosts'), 'utf8'), /^127\.0\.0\.1\s+localhost$/m);
    assert.equal(await fs.readFile(path.join(rootfs, 'etc/resolv.conf'), 'utf8'), '');
    assert.match(await fs.readFile(path.join(rootfs, 'etc/passwd'), 'utf8'), /^app:x:1000:1000:/m);
    assert.deepEqual(await fs.readdir(path.join(rootfs, 'var/lib/apt/lists')), [], 'apt lists cleaned');
    assert.deepEqual(
      (await fs.readdir(path.join(rootfs, 'var/cache/apt/archives'))).filter((f) => f.endsWith('.deb')),
      [],
    );

    // list(): an older version on disk shows as DEPRECATED next to the current one.
    const old = path.join(cacheDir, 'base/debian-12-minimal/0.9');
    await fs.mkdir(path.join(old, 'rootfs'), { recursive: true });
    await fs.writeFile(
      path.join(old, 'manifest.json'),
      JSON.stringify({
        name: 'debian-12-minimal',
        version: '0.9',
        status: 'AVAILABLE',
        createdAt: '2025-01-01T00:00:00.000Z',
        sizeBytes: 1,
        packages: [],
      }),
    );
    const listed = (await images.list()).map((i) => `${i.name}:${i.version}:${i.status}`);
    assert.deepEqual(listed, ['debian-12-minimal:0.9:DEPRECATED', 'debian-12-minimal:1.0:AVAILABLE']);
    assert.equal((await images.resolve('debian-12-minimal', '0.9')).status, 'DEPRECATED');
  },
);

test('unknown names and versions are IMAGE_BASE_NOT_FOUND; the catalog lists every image', async (t) => {
  const cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-base-'));
  t.after(() => fs.rm(cacheDir, { recursive: true, force: true }));
  const images = new ManagedImages({ cacheDir });
  const listed = images.catalog().map((d) => `${d.name}:${d.version}`);
  assert.deepEqual(listed.slice(0, 3), ['debian-12-minimal:1.0', 'debian-12-python:1.0', 'debian-12-e2b:1.0']);
  for (const more of ['debian-12-node:1.0', 'debian-12-chromium:1.0']) assert.ok(listed.includes(more), `${more} in ${listed.join(', ')}`);
  assert.deepEqual(images.catalog()[1]?.packages, ['python3', 'python3-pip']);
  const notFound = (e: unknown): boolean => isCubbyError(e, 'IMAGE_BASE_NOT_FOUND');
  await assert.rejects(images.resolve('debian-12-python'), notFound);
  await assert.rejects(images.resolve('alpine-3'), notFound);
  await assert.rejects(images.ensure('alpine-3'), notFound);
  await assert.rejects(images.ensure('debian-12-python', '0.1'), notFound);
  assert.deepEqual(await images.list(), []);
});

test('the shared test image (debian-12-python) has python3, pip and the app user', { timeout: 10 * 60_000 }, async () => {
  const rootfs = await ensureTestBaseImage();
  assert.equal(rootfs, path.join(new ManagedImages().cacheDir, 'base/debian-12-python/1.0/rootfs'));
  await fs.access(path.join(rootfs, 'usr/bin/python3'));
  await fs.access(path.join(rootfs, 'usr/lib/python3/dist-packages/pip'));
  assert.match(await fs.readFile(path.join(rootfs, 'etc/passwd'), 'utf8'), /^app:x:1000:1000:/m);
  assert.equal(await ensureTestBaseImage(), rootfs, 'one build per process, whatever the number of callers');
  const info = await new ManagedImages().resolve('debian-12-python');
  assert.ok(info.packages.some((p) => p.startsWith('python3=')));
});
