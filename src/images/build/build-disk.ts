/**
 * A build's disk cap, enforced by the kernel: the build's bulky data (buildah's graph root, run
 * root and TMPDIR) lives on its own ext4 file system, loop-mounted from a sparse file of exactly
 * the cap, so a RUN step that writes past it gets ENOSPC instead of filling the host. The small
 * bookkeeping files (runsc state, wrapper, logs, pid lists) stay on the host beside it, so cleanup
 * still works when the cap is full. Released (unmounted, loop device detached, file deleted) in
 * every outcome, and by the start-up sweep for builds of dead processes.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { CubbyError } from '../../errors/index.js';
import { runCommand, tail } from '../../util/command.js';

export const DISK_FILE = 'disk.img';
export const DATA_DIR = 'data';

const MiB = 1024 * 1024;

/** Creates the sparse file, makes the file system and mounts it at <dir>/data; returns that path. */
export async function mountBuildDisk(dir: string, bytes: number): Promise<string> {
  const file = path.join(dir, DISK_FILE);
  const mnt = path.join(dir, DATA_DIR);
  const fh = await fs.open(file, 'wx', 0o600);
  try {
    await fh.truncate(bytes);
  } finally {
    await fh.close();
  }
  // -m 0: no blocks reserved for root (builds run as root); lazy init: nothing is zeroed up front,
  // so the sparse file only grows with what the build writes.
  const mkfs = await runCommand('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'lazy_itable_init=1,lazy_journal_init=1,nodiscard', file], {
    timeoutMs: 60_000,
  });
  if (mkfs.code !== 0) throw new CubbyError('BUILD_FAILED', `making the build's file system: ${tail(mkfs.stderr || mkfs.stdout, 500)}`);
  await fs.mkdir(mnt, { mode: 0o700 });
  const mount = await runCommand('mount', ['-t', 'ext4', '-o', 'loop,nosuid,noinit_itable', file, mnt], { timeoutMs: 60_000 });
  if (mount.code !== 0)
    throw new CubbyError('BUILD_FAILED', `mounting the build's file system: ${tail(mount.stderr || mount.stdout, 500)}`);
  return mnt;
}

/** Free and total bytes of a mounted file system (undefined when it cannot be read). */
export async function diskSpace(p: string): Promise<{ free: number; total: number } | undefined> {
  const s = await fs.statfs(p).catch(() => undefined);
  return s ? { free: s.bavail * s.bsize, total: s.blocks * s.bsize } : undefined;
}

/** Loop devices whose backing file is `file` or lies under `dir/` (the kernel keeps the path). */
export async function loopDevicesOf(match: (backing: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  for (const dev of await fs.readdir('/sys/block').catch(() => [] as string[])) {
    if (!dev.startsWith('loop')) continue;
    const backing = (await fs.readFile(`/sys/block/${dev}/loop/backing_file`, 'utf8').catch(() => '')).trim().replace(/ \(deleted\)$/, '');
    if (backing && match(backing)) out.push(`/dev/${dev}`);
  }
  return out;
}

function isMounted(info: string, mnt: string): boolean {
  return info.split('\n').some((l) => l.split(' ')[4] === mnt);
}

/**
 * Unmounts <dir>/data (what is mounted under it must be gone already) and detaches its loop
 * device. A busy file system is retried for a few seconds, then detached lazily: the kernel frees
 * the loop device (autoclear) when the last user lets go.
 */
export async function releaseBuildDisk(dir: string): Promise<void> {
  const mnt = path.join(dir, DATA_DIR);
  const file = path.join(dir, DISK_FILE);
  for (let i = 0; i < 25; i++) {
    if (!isMounted(await fs.readFile('/proc/self/mountinfo', 'utf8'), mnt)) break;
    const r = await runCommand('umount', [mnt], { timeoutMs: 10_000 }).catch(() => undefined);
    if (r?.code === 0) break;
    if (i === 24) await runCommand('umount', ['-l', mnt], { timeoutMs: 10_000 }).catch(() => undefined);
    else await new Promise((r2) => setTimeout(r2, 200));
  }
  await detachLoops((b) => b === file);
}

export async function detachLoops(match: (backing: string) => boolean): Promise<void> {
  for (const dev of await loopDevicesOf(match)) await runCommand('losetup', ['-d', dev], { timeoutMs: 10_000 }).catch(() => undefined);
}

/** Loop devices of builds under `buildsRoot` whose build directory is gone (a crash mid-cleanup). */
export async function detachOrphanLoops(buildsRoot: string): Promise<void> {
  await detachLoops((b) => {
    if (!b.startsWith(buildsRoot + '/')) return false;
    const id = path.relative(buildsRoot, b).split(path.sep)[0] ?? '';
    return !existsSync(path.join(buildsRoot, id));
  });
}

export function mib(bytes: number): number {
  return Math.round(bytes / MiB);
}
