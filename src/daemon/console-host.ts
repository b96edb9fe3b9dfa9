/** Host capacity and daemon health for the console's operator page. */
import { promises as fs } from 'node:fs';
import type { Store } from '../core/ports/store.js';
import type { HostMemoryPort } from '../core/ports/host.js';
import type { HostStatus } from '../api/console/index.js';

const IDLE_MS = 60_000;

export function consoleHost(opts: {
  store: Store;
  dataDir: string;
  memory: HostMemoryPort;
  diskReserveMiB?: number;
}): () => Promise<HostStatus> {
  return async () => {
    const checks: HostStatus['checks'] = [];
    let running: Awaited<ReturnType<Store['listMicrovmsByState']>> = [];
    let suspended = 0;
    try {
      running = await opts.store.listMicrovmsByState(['RUNNING']);
      suspended = (await opts.store.listMicrovmsByState(['SUSPENDED'])).length;
      checks.push({ name: 'store', ok: true });
    } catch (e) {
      checks.push({ name: 'store', ok: false, detail: (e as Error).message });
    }
    const disk = await fs.statfs(opts.dataDir).catch(() => undefined);
    const diskFreeBytes = disk ? disk.bavail * disk.bsize : 0;
    const reserve = (opts.diskReserveMiB ?? 0) * 1024 * 1024;
    checks.push({
      name: 'disk',
      ok: disk !== undefined && diskFreeBytes > reserve,
      detail: `${Math.floor(diskFreeBytes / 2 ** 20)} MiB free`,
    });
    const memoryAvailableBytes = await opts.memory.availableBytes().catch(() => 0);
    checks.push({ name: 'memory', ok: memoryAvailableBytes > 0, detail: `${Math.floor(memoryAvailableBytes / 2 ** 20)} MiB available` });
    const now = Date.now();
    return {
      running: running.length,
      suspended,
      idleRunning: running.filter((m) => now - m.lastActivityAt.getTime() >= IDLE_MS).length,
      diskFreeBytes,
      diskTotalBytes: disk ? disk.blocks * disk.bsize : 0,
      memoryAvailableBytes,
      uptimeSeconds: Math.round(process.uptime()),
      checks,
    };
  };
}
