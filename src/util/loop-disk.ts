/**
 * A size-capped file system of its own, enforced by the kernel: ext4 loop-mounted from a sparse
 * file of exactly the cap, so whoever writes past it gets ENOSPC instead of filling the host.
 * Used for a build's data (src/images/build/build-disk.ts) and a sandbox's disk (the runtime).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CubbyError, type ErrorCode } from '../errors/index.js';
import { runCommand, tail } from './command.js';

/**
 * Creates `file` sparse at `bytes`, makes the file system and mounts it at `mnt`; `code` and
 * `what` name a failure ("the build's file system").
 */
export async function mountLoopDisk(file: string, mnt: string, bytes: number, code: ErrorCode, what: string): Promise<void> {
  const fh = await fs.open(file, 'wx', 0o600);
  try {
    await fh.truncate(bytes);
  } finally {
    await fh.close();
  }
  // -m 0: no blocks reserved for root (the writers run as root); lazy init: nothing is zeroed up
  // front, so the sparse file only grows with what is written (and mkfs takes ~20-80 ms).
  const mkfs = await runCommand('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'lazy_itable_init=1,lazy_journal_init=1,nodiscard', file], {
    timeoutMs: 60_000,
  });
  if (mkfs.code !== 0) throw new CubbyError(code, `making ${what}: ${tail(mkfs.stderr || mkfs.stdout, 500)}`);
  await fs.mkdir(mnt, { recursive: true, mode: 0o700 });
  const mount = await runCommand('mount', ['-t', 'ext4', '-o', 'loop,nosuid,noinit_itable', file, mnt], { timeoutMs: 60_000 });
  if (mount.code !== 0) throw new CubbyError(code, `mounting ${what}: ${tail(mount.stderr || mount.stdout, 500)}`);
}

/** Free and total bytes of a mounted file system (undefined when it cannot be read). */
export async function diskSpace(p: string): Promise<{ free: number; total: number } | undefined> {
  const s = await fs.statfs(p).catch(() => undefined);
  return s ? { free: s.bavail * s.bsize, total: s.blocks * s.bsize } : undefined;
}

/** Loop devices whose backing file `match` accepts (the kernel keeps the path). */
export async function loopDevicesOf(match: (backing: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  for (const dev of await fs.readdir('/sys/block').catch(() => [] as string[])) {
    if (!dev.startsWith('loop')) continue;
    const backing = (await fs.readFile(`/sys/block/${dev}/loop/backing_file`, 'utf8').catch(() => '')).trim().replace(/ \(deleted\)$/, '');
    if (backing && match(backing)) out.push(`/dev/${dev}`);
  }
  return out;
}

export async function detachLoops(match: (backing: string) => boolean): Promise<void> {
  for (const dev of await loopDevicesOf(match)) await runCommand('losetup', ['-d', dev], { timeoutMs: 10_000 }).catch(() => undefined);
}

function isMounted(info: string, mnt: string): boolean {
  return info.split('\n').some((l) => l.split(' ')[4] === mnt);
}

/**
 * Unmounts `mnt` (what is mounted under it must be gone already) and detaches the loop device of
 * `file`. A busy file system is retried for a few seconds, then detached lazily: the kernel frees
 * the loop device (autoclear) when the last user lets go.
 */
export async function releaseLoopDisk(file: string, mnt: string, tries = 25): Promise<void> {
  const target = path.resolve(mnt);
  for (let i = 0; i < tries; i++) {
    if (!isMounted(await fs.readFile('/proc/self/mountinfo', 'utf8'), target)) break;
    const r = await runCommand('umount', [target], { timeoutMs: 10_000 }).catch(() => undefined);
    if (r?.code === 0) break;
    if (i === tries - 1) await runCommand('umount', ['-l', target], { timeoutMs: 10_000 }).catch(() => undefined);
    else await new Promise((r2) => setTimeout(r2, 200));
  }
  await detachLoops((b) => b === path.resolve(file));
}
