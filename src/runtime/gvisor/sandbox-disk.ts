/**
 * Each sandbox's own disk: gVisor keeps the root overlay's upper layer (every file the app
 * writes) in a filestore file in a directory we name (`--overlay2=root:dir=<dir>`), instead of
 * in sandbox memory (`root:memory`, where a 3 GiB file was an out-of-memory kill of the whole
 * sandbox). That directory is a loop-mounted ext4 of exactly the disk size, so a write past it
 * fails with ENOSPC inside (measured: the app gets ENOSPC, deleting the file frees the space, the
 * sandbox lives on). A checkpoint still carries the files (their pages go into pages.img), and a
 * restore into a fresh disk of the same size brings them back.
 */
import path from 'node:path';
import { CubbyError, type ErrorCode } from '../../errors/index.js';
import { diskSpace, mountLoopDisk, releaseLoopDisk } from '../../util/loop-disk.js';

/** The overlay medium recorded in checkpoints of sandboxes with a disk (the directory differs per sandbox). */
export const DISK_OVERLAY = 'root:dir';
/** The medium of sandboxes (and checkpoints) made before disks: still restored as they were made. */
export const MEMORY_OVERLAY = 'root:memory';

const MiB = 1024 * 1024;

export class SandboxDisks {
  constructor(
    /** Directory of a sandbox's files (the disk goes beside its record). */
    private readonly dirOf: (id: string) => string,
    /** Where free host space is measured (the file system the disks' files live on). */
    private readonly hostDir: string,
    /** Host disk kept free whatever the sandboxes' disks hold. */
    private readonly reserveBytes: number,
  ) {}

  file(id: string): string {
    return path.join(this.dirOf(id), 'disk.img');
  }
  mountPoint(id: string): string {
    return path.join(this.dirOf(id), 'disk');
  }
  overlayFlag(id: string): string {
    return `root:dir=${this.mountPoint(id)}`;
  }

  /**
   * Refuses when the host could not hold this disk full and still keep its reserve (disk files are
   * sparse: they take space only as they fill), then makes and mounts it.
   */
  async create(id: string, bytes: number, code: ErrorCode): Promise<void> {
    const host = await diskSpace(this.hostDir);
    if (host && host.free - bytes < this.reserveBytes) {
      throw new CubbyError(
        'RUNTIME_DISK_FULL',
        `not enough host disk for this sandbox: ${mib(host.free)} MiB free, its disk may take ${mib(bytes)} MiB ` +
          `and the host keeps ${mib(this.reserveBytes)} MiB in reserve (free space, or use a smaller disk)`,
      );
    }
    await mountLoopDisk(this.file(id), this.mountPoint(id), bytes, code, `the sandbox's disk`);
  }

  async release(id: string): Promise<void> {
    await releaseLoopDisk(this.file(id), this.mountPoint(id));
  }

  async usage(id: string): Promise<{ used: number; total: number } | undefined> {
    const s = await diskSpace(this.mountPoint(id));
    return s ? { used: s.total - s.free, total: s.total } : undefined;
  }
}

function mib(bytes: number): number {
  return Math.round(bytes / MiB);
}
