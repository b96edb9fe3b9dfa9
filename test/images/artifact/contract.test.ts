/**
 * The artifact unpacker contract against the real unpackers: ZipArtifactUnpacker given the bytes,
 * and TenantArtifacts given a file:// URI under a tenant's root and an upload (cubby-artifact://).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TenantArtifacts } from '../../../src/images/artifact/tenant-artifacts.js';
import { ZipArtifactUnpacker } from '../../../src/images/artifact/zip-artifact-unpacker.js';
import type { ArtifactSource, ArtifactUnpacker } from '../../../src/core/ports/images.js';
import { runArtifactContract, type ArtifactFixture } from '../contract/artifact.js';

const limits = { maxEntries: 20, maxTotalBytes: 64 * 1024 };

async function filesUnder(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => [])) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await filesUnder(dir, r)));
    else out.push(r);
  }
  return out.sort();
}

/** A fixture on a temporary directory; `source` places the zip where this unpacker reads it. */
async function fixture(
  make: (root: string) => { unpacker: ArtifactUnpacker; owner?: { tenantId: string }; source(zip: Buffer): Promise<ArtifactSource> },
): Promise<ArtifactFixture> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-artifact-contract-'));
  let n = 0;
  return {
    ...make(root),
    limits,
    target: () => path.join(root, 'targets', `t${n++}`),
    files: (dir) => filesUnder(dir),
    read: (f) => fs.readFile(f, 'utf8').catch(() => undefined),
    exists: (p) =>
      fs.lstat(p).then(
        () => true,
        () => false,
      ),
    close: () => fs.rm(root, { recursive: true, force: true }),
  };
}

runArtifactContract('zip (bytes)', () =>
  fixture(() => ({
    unpacker: new ZipArtifactUnpacker({ limits }),
    source: async (zip) => new Uint8Array(zip),
  })),
);

runArtifactContract('tenant (file://)', () =>
  fixture((root) => ({
    unpacker: new TenantArtifacts({ artifactsDir: path.join(root, 'uploads'), fileRoots: [path.join(root, 'zips', '{tenant}')], limits }),
    owner: { tenantId: 'tenant-a' },
    async source(zip) {
      const file = path.join(root, 'zips', 'tenant-a', `${randomBytes(6).toString('hex')}.zip`);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, zip);
      return pathToFileURL(file).href;
    },
  })),
);

runArtifactContract('tenant (upload)', () =>
  fixture((root) => ({
    unpacker: new TenantArtifacts({ artifactsDir: path.join(root, 'uploads'), fileRoots: [], limits }),
    owner: { tenantId: 'tenant-a' },
    async source(zip) {
      const id = randomBytes(8).toString('hex');
      await fs.mkdir(path.join(root, 'uploads', 'tenant-a'), { recursive: true });
      await fs.writeFile(path.join(root, 'uploads', 'tenant-a', `${id}.zip`), zip);
      return `cubby-artifact://${id}`;
    },
  })),
);
