/**
 * The layer cache's bound (no build): past it, the least recently used entries go and then every
 * blob no remaining entry references; a blob entries share stays while one of them does.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { LayerCache } from '../../../src/images/build/layer-cache.js';
import type { BuildahRunner } from '../../../src/images/build/buildah-storage.js';

const noBuildah: BuildahRunner = {
  run: () => Promise.reject(new Error('pruning needs no buildah')),
};

async function blob(dir: string, data: string | Buffer): Promise<string> {
  const hex = createHash('sha256').update(data).digest('hex');
  await fs.writeFile(path.join(dir, hex), data);
  return `sha256:${hex}`;
}

test('prune drops least recently used entries and their own blobs, keeping shared ones', async () => {
  const storageDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-cache-prune-'));
  try {
    const oci = path.join(storageDir, 'cache', 'oci');
    const blobs = path.join(oci, 'blobs', 'sha256');
    const entries = path.join(storageDir, 'cache', 'entries');
    await fs.mkdir(blobs, { recursive: true });
    await fs.mkdir(entries, { recursive: true });
    const KiB = 1024;
    const base = await blob(blobs, Buffer.alloc(100 * KiB, 1));
    const manifests = [];
    const own: Record<string, string> = {};
    for (const [key, fill] of [
      ['old', 2],
      ['mid', 3],
      ['new', 4],
    ] as const) {
      own[key] = await blob(blobs, Buffer.alloc(50 * KiB, fill));
      const config = await blob(blobs, JSON.stringify({ key }));
      const man = await blob(blobs, JSON.stringify({ config: { digest: config }, layers: [{ digest: base }, { digest: own[key] }] }));
      manifests.push({ digest: man, annotations: { 'org.opencontainers.image.ref.name': key } });
      const rec = path.join(entries, `${key}.json`);
      await fs.writeFile(rec, '{}');
      const when = new Date(Date.now() - { old: 3, mid: 2, new: 1 }[key] * 60_000);
      await fs.utimes(rec, when, when);
    }
    const stray = await blob(blobs, 'left by a failed push');
    await fs.writeFile(path.join(oci, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));

    // Room for the base and two entries' own layers, not three.
    const cache = new LayerCache({ storageDir, buildah: noBuildah, maxBytes: 210 * KiB });
    assert.ok((await cache.size()) > 250 * KiB);
    const removed = await cache.prune();
    assert.deepEqual(removed, ['old']);
    const left = new Set((await fs.readdir(blobs)).map((f) => `sha256:${f}`));
    assert.ok(left.has(base), 'the shared base layer stays');
    assert.ok(left.has(own.mid as string) && left.has(own.new as string));
    assert.ok(!left.has(own.old as string), "the removed entry's own layer is gone");
    assert.ok(!left.has(stray), 'unreferenced blobs are gone');
    assert.ok((await cache.size()) <= 210 * KiB);
    const index = JSON.parse(await fs.readFile(path.join(oci, 'index.json'), 'utf8')) as {
      manifests: { annotations: Record<string, string> }[];
    };
    assert.deepEqual(
      index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name']),
      ['mid', 'new'],
    );
    await assert.rejects(fs.stat(path.join(entries, 'old.json')));
    assert.equal(await cache.latest(['old', 'mid']), 'mid', 'a lookup finds the entries left');

    // Within the bound: nothing goes.
    assert.deepEqual(await new LayerCache({ storageDir, buildah: noBuildah, maxBytes: 10 * 1024 * KiB }).prune(), []);
  } finally {
    await fs.rm(storageDir, { recursive: true, force: true });
  }
});
