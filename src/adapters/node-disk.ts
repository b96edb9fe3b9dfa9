/** The disk port on the local filesystem. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DiskPort } from '../core/ports/disk.js';

async function size(p: string): Promise<number> {
  const st = await fs.lstat(p).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const e of await fs.readdir(p)) total += await size(path.join(p, e));
  return total;
}

export const nodeDisk: DiskPort = {
  remove: (p) => fs.rm(p, { recursive: true, force: true }),
  async replace(from, to) {
    // A missing source must fail before the target (e.g. the only good checkpoint) is removed.
    await fs.access(from);
    await fs.rm(to, { recursive: true, force: true });
    await fs.rename(from, to);
  },
  exists: (p) =>
    fs.access(p).then(
      () => true,
      () => false,
    ),
  size,
  ensureDir: async (p) => {
    await fs.mkdir(p, { recursive: true, mode: 0o700 });
  },
  join: (...parts) => path.join(...parts),
  async append(p, text) {
    await fs.mkdir(path.dirname(p), { recursive: true, mode: 0o700 });
    await fs.appendFile(p, text, { mode: 0o600 });
  },
  read: (p) => fs.readFile(p, 'utf8').catch(() => undefined),
};
