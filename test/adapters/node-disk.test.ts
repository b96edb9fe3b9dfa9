/** The node adapter of the disk port honours the disk contract on a temporary directory. */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runDiskContract } from '../disk/contract.js';
import { nodeDisk } from '../../src/adapters/node-disk.js';

runDiskContract('node', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-disk-'));
  return { disk: nodeDisk, root, close: () => fs.rm(root, { recursive: true, force: true }) };
});
