/**
 * The debian-12-node and debian-12-chromium recipes and what their builds hold (built once per
 * machine into the shared cache, like every managed base the tests use).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { BASE_RECIPES } from '../../../src/images/base/catalog.js';
import { CDP_PORT, CHROMIUM_LAUNCHER, CHROMIUM_LAUNCHER_PATH } from '../../../src/images/base/chromium-launcher.js';
import { ManagedImages } from '../../../src/images/base/managed-images.js';
import { securityMirror } from '../../../src/images/base/rootfs-recipe.js';
import { ensureTestBaseImage } from '../../support/base-image.js';

test('the security archive sits beside a /debian mirror; any other mirror falls back to deb.debian.org', () => {
  assert.equal(securityMirror('http://deb.debian.org/debian'), 'http://deb.debian.org/debian-security');
  assert.equal(securityMirror('http://mirror.example/debian/'), 'http://mirror.example/debian-security');
  assert.equal(securityMirror('http://mirror.example/pub/linux'), 'http://deb.debian.org/debian-security');
});

test('the launcher is valid sh, runs Chromium the way gVisor needs, and relays the DevTools port', () => {
  const r = spawnSync('sh', ['-n'], { input: CHROMIUM_LAUNCHER });
  assert.equal(r.status, 0, r.stderr.toString());
  for (const flag of ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--remote-debugging-port="$inner"']) {
    assert.ok(CHROMIUM_LAUNCHER.includes(flag), flag);
  }
  assert.match(CHROMIUM_LAUNCHER, new RegExp(`CDP_PORT:-${CDP_PORT}`));
  assert.match(CHROMIUM_LAUNCHER, /socat TCP-LISTEN:"\$port",bind=0\.0\.0\.0,fork,reuseaddr TCP:127\.0\.0\.1:"\$inner"/);
});

test('debian-12-node and debian-12-chromium: built from bookworm and bookworm-security', { timeout: 20 * 60_000 }, async () => {
  for (const name of ['debian-12-node', 'debian-12-chromium']) {
    const r = BASE_RECIPES.find((x) => x.name === name);
    assert.equal(r?.from, 'debian-12-minimal');
    assert.equal(r?.securityUpdates, true);
  }
  const node = await ensureTestBaseImage('debian-12-node');
  const chromium = await ensureTestBaseImage('debian-12-chromium');
  const images = new ManagedImages();
  const nodeInfo = await images.resolve('debian-12-node');
  assert.ok(nodeInfo.packages.some((p) => p.startsWith('nodejs=')));
  assert.ok(nodeInfo.packages.some((p) => p.startsWith('npm=')));
  await fs.access(path.join(node, 'usr/bin/node'));
  await fs.access(path.join(node, 'usr/bin/npm'));
  // The Dockerfile's own apt-get sees the security suite too.
  assert.match(await fs.readFile(path.join(node, 'etc/apt/sources.list'), 'utf8'), /bookworm-security main/);

  const chromiumInfo = await images.resolve('debian-12-chromium');
  assert.ok(chromiumInfo.packages.some((p) => p.startsWith('chromium-headless-shell=')));
  assert.ok(chromiumInfo.packages.some((p) => p.startsWith('socat=')));
  const launcher = path.join(chromium, CHROMIUM_LAUNCHER_PATH);
  assert.equal(await fs.readFile(launcher, 'utf8'), CHROMIUM_LAUNCHER);
  assert.equal((await fs.stat(launcher)).mode & 0o777, 0o755);
  await fs.access(path.join(chromium, 'usr/lib/chromium/chromium-headless-shell'));
});
