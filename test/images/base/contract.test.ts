/**
 * The managed base store contract against ManagedImages, over the machine's cached base (never
 * rebuilt): a private cache directory whose current versions link to the shared ones, plus an
 * older version's manifest, so nothing is added to the shared cache.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManagedImages } from '../../../src/images/base/managed-images.js';
import { BASE_RECIPES } from '../../../src/images/base/catalog.js';
import { ensureTestBaseImage } from '../../support/base-image.js';
import { runManagedStoreContract } from '../contract/base.js';

runManagedStoreContract('ManagedImages', async () => {
  const rootfs = await ensureTestBaseImage('debian-12-python');
  const shared = path.resolve(rootfs, '../../..');
  const cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-base-contract-'));
  for (const r of BASE_RECIPES) {
    const src = path.join(shared, r.name, r.version);
    if (!(await fs.stat(src).catch(() => undefined))) continue;
    await fs.mkdir(path.join(cacheDir, 'base', r.name), { recursive: true });
    await fs.symlink(src, path.join(cacheDir, 'base', r.name, r.version));
  }
  const old = path.join(cacheDir, 'base/debian-12-python/0.9');
  await fs.mkdir(path.join(old, 'rootfs'), { recursive: true });
  await fs.writeFile(
    path.join(old, 'manifest.json'),
    JSON.stringify({
      name: 'debian-12-python',
      version: '0.9',
      status: 'AVAILABLE',
      createdAt: '2025-01-01T00:00:00.000Z',
      sizeBytes: 1,
      packages: [],
    }),
  );
  return {
    store: new ManagedImages({ cacheDir }),
    built: 'debian-12-python',
    deprecated: '0.9',
    close: () => fs.rm(cacheDir, { recursive: true, force: true }),
  };
});
