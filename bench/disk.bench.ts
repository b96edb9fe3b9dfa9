/**
 * Disk figures (issue 10): write and read throughput of a file inside a sandbox whose writable
 * layer is its own loop-mounted ext4 (`--overlay2=root:dir=<disk>`), beside raw runsc with the same
 * overlay on a disk made the same way, plus what making and mounting that disk costs a launch.
 * Throughput is MB/s of a `dd` of SIZE_MIB (exec round trip included on both sides alike).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GvisorRuntime, newSandboxId } from '../src/runtime/gvisor/index.js';
import { createLinuxNetwork } from '../src/network/linux/index.js';
import { mountLoopDisk, releaseLoopDisk } from '../src/util/loop-disk.js';
import { COUNTER_APP, pythonArgs } from '../test/support/apps.js';
import { RawRunsc } from './support/raw-runsc.js';
import { printTable, timed, type Row } from './support/stats.js';

const MiB = 1024 * 1024;
const SIZE_MIB = 256;
const DISK_BYTES = 1024 * MiB;
const WRITE = ['dd', 'if=/dev/zero', 'of=/var/tmp/f', 'bs=1M', `count=${SIZE_MIB}`, 'conv=fsync'];
const READ = ['dd', 'if=/var/tmp/f', 'of=/dev/null', 'bs=1M'];
const mbps = (ms: number) => (SIZE_MIB * MiB) / 1e6 / (ms / 1000);

export async function diskBench(rootfs: string, reps: number): Promise<Row[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-bench-disk-'));
  const rt = new GvisorRuntime({ stateDir: path.join(dir, 'cubby'), network: await createLinuxNetwork() });
  const raw = new RawRunsc(path.join(dir, 'raw'), rootfs);
  const proc = { args: pythonArgs(COUNTER_APP) };
  const limits = { memoryBytes: 1024 * MiB, diskBytes: DISK_BYTES };
  const rows: Record<string, Row> = {
    write: { metric: `write ${SIZE_MIB} MiB + fsync (MB/s, higher is better)`, cubby: [], raw: [], unit: 'MB/s' },
    read: { metric: `read ${SIZE_MIB} MiB back (MB/s, higher is better)`, cubby: [], raw: [], unit: 'MB/s' },
    disk: { metric: 'make + mount a 4 GiB sandbox disk (mkfs, loop mount)', cubby: [] },
  };
  try {
    for (let i = 0; i < reps; i++) {
      {
        const id = newSandboxId();
        await rt.create({ id, rootfs, process: proc, limits });
        const run = async (args: string[]) => {
          const r = await rt.run(id, { args });
          if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr.toString()}`);
        };
        rows.write?.cubby.push(mbps((await timed(() => run(WRITE)))[0]));
        rows.read?.cubby.push(mbps((await timed(() => run(READ)))[0]));
        await rt.destroy(id);
      }
      {
        // Raw runsc on the same kind of disk: the overlay flag names it (restores would need the same).
        const id = newSandboxId();
        const img = path.join(dir, `raw-${i}.img`);
        const mnt = path.join(dir, `raw-${i}`);
        const [tDisk] = await timed(() => mountLoopDisk(img, mnt, 4096 * MiB, 'RUNTIME_COMMAND_FAILED', 'the raw disk'));
        rows.disk?.cubby.push(tDisk);
        const flagAt = raw.flags.findIndex((f) => f.startsWith('--overlay2='));
        raw.flags[flagAt] = `--overlay2=root:dir=${mnt}`;
        const net = await raw.netns();
        try {
          await raw.run(id, await raw.bundle(id, net.ns, proc, { limits }));
          rows.write?.raw?.push(mbps((await timed(() => raw.exec(id, WRITE)))[0]));
          rows.read?.raw?.push(mbps((await timed(() => raw.exec(id, READ)))[0]));
        } finally {
          await raw.destroy(id, net.ns, net.idx);
          await releaseLoopDisk(img, mnt);
        }
      }
    }
  } finally {
    for (const s of await rt.list()) await rt.destroy(s.id).catch(() => undefined);
    await rt.close();
    await raw.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
  const out = Object.values(rows);
  printTable('Sandbox disk (loop-mounted ext4 overlay) vs raw runsc on the same overlay', out);
  return out;
}
