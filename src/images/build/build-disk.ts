/**
 * A build's disk cap, enforced by the kernel: the build's bulky data (buildah's graph root, run
 * root and TMPDIR) lives on its own ext4 file system, loop-mounted from a sparse file of exactly
 * the cap, so a RUN step that writes past it gets ENOSPC instead of filling the host. The small
 * bookkeeping files (runsc state, wrapper, logs, pid lists) stay on the host beside it, so cleanup
 * still works when the cap is full. Released (unmounted, loop device detached, file deleted) in
 * every outcome, and by the start-up sweep for builds of dead processes.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { detachLoops, diskSpace, loopDevicesOf, mountLoopDisk, releaseLoopDisk } from '../../util/loop-disk.js';

export const DISK_FILE = 'disk.img';
export const DATA_DIR = 'data';

const MiB = 1024 * 1024;

/** Creates the sparse file, makes the file system and mounts it at <dir>/data; returns that path. */
export async function mountBuildDisk(dir: string, bytes: number): Promise<string> {
  const mnt = path.join(dir, DATA_DIR);
  await mountLoopDisk(path.join(dir, DISK_FILE), mnt, bytes, 'BUILD_FAILED', "the build's file system");
  return mnt;
}

export { diskSpace, loopDevicesOf, detachLoops };

/** Unmounts <dir>/data and detaches its loop device (see releaseLoopDisk). */
export async function releaseBuildDisk(dir: string): Promise<void> {
  await releaseLoopDisk(path.join(dir, DISK_FILE), path.join(dir, DATA_DIR));
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
