/** The host's available memory from /proc/meminfo (MemAvailable): what new sandboxes can still get. */
import { promises as fs } from 'node:fs';
import type { HostMemoryPort } from '../core/ports/host.js';

export const procHostMemory: HostMemoryPort = {
  async availableBytes() {
    const text = await fs.readFile('/proc/meminfo', 'utf8');
    const kib = /^MemAvailable:\s+(\d+) kB$/m.exec(text)?.[1];
    if (!kib) throw new Error('/proc/meminfo has no MemAvailable line');
    return Number(kib) * 1024;
  },
};
