import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { diskArtifactUsage } from '../../src/adapters/artifact-usage.js';
import { runArtifactUsageContract } from './contract.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true }))));

// The layout the upload route writes: <dir>/<tenantId>/<id>.zip, with .part files while in flight.
runArtifactUsageContract('disk', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-artifact-usage-'));
  dirs.push(dir);
  const write = async (tenantId: string, file: string, bytes: number) => {
    await fs.mkdir(path.join(dir, tenantId), { recursive: true });
    await fs.writeFile(path.join(dir, tenantId, file), Buffer.alloc(bytes));
  };
  return {
    port: diskArtifactUsage(dir),
    store: (t, id, n) => write(t, `${id}.zip`, n),
    storePartial: (t, id, n) => write(t, `${id}.zip.part`, n),
    remove: (t, id) => fs.rm(path.join(dir, t, `${id}.zip`)),
  };
});
