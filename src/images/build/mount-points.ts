/**
 * Mount points in an exported rootfs for what the runtime binds over files of it (Cubby's agent at
 * /.cubby/bin/cubby-agent). runsc's gofer makes a missing mount point itself, in the host
 * directory it serves as the root: that would write a version's rootfs after its export, so its
 * export record (export-layers.ts) would no longer hold and the next rebuild would compare file by
 * file, and the rootfs would no longer be what was built. Made here, at export, they are part of
 * the version: empty files (a bind mount shows the source's mode) and directories 0755 owned by
 * the builder (root), with a fixed time, and the times of directories that already existed are kept.
 *
 * Never through a symlink of the image: a path whose existing part is not a plain directory is
 * skipped (the runtime then resolves it inside the rootfs as before).
 */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';

const FIXED_TIME = new Date(0);

export interface MountPointsResult {
  made: string[];
  skipped: string[];
}

export async function createMountPoints(rootfs: string, destinations: readonly string[]): Promise<MountPointsResult> {
  const out: MountPointsResult = { made: [], skipped: [] };
  for (const dest of destinations) {
    const parts = path.posix.normalize(dest).split('/').filter(Boolean);
    if (!path.posix.isAbsolute(dest) || parts.length === 0 || parts.includes('..')) {
      out.skipped.push(dest);
      continue;
    }
    if (await createOne(rootfs, parts)) out.made.push(dest);
    else if (!(await fs.lstat(path.join(rootfs, ...parts)).catch(() => undefined))) out.skipped.push(dest);
  }
  return out;
}

/** Makes rootfs/parts as an empty file; false when it exists already or something is in the way. */
async function createOne(rootfs: string, parts: string[]): Promise<boolean> {
  // The deepest directory that exists keeps its times: noted before anything is made in it.
  let dir = rootfs;
  let kept: { dir: string; atime: Date; mtime: Date } | undefined;
  const made: string[] = [];
  for (const name of parts.slice(0, -1)) {
    const next = path.join(dir, name);
    const st = await fs.lstat(next).catch(() => undefined);
    if (st && !st.isDirectory()) return false;
    if (!st) {
      if (!kept) {
        const ds = await fs.lstat(dir);
        kept = { dir, atime: ds.atime, mtime: ds.mtime };
      }
      await fs.mkdir(next, { mode: 0o755 });
      await fs.chmod(next, 0o755);
      made.push(next);
    }
    dir = next;
  }
  const file = path.join(dir, parts[parts.length - 1] as string);
  if (await fs.lstat(file).catch(() => undefined)) return false;
  if (!kept) {
    const ds = await fs.lstat(dir);
    kept = { dir, atime: ds.atime, mtime: ds.mtime };
  }
  // O_EXCL with O_NOFOLLOW: never follows a symlink, never opens what someone else made.
  const fh = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o755);
  await fh.close();
  await fs.chmod(file, 0o755);
  // Deepest first: a directory's times are set after the last entry is made in it.
  for (const p of [file, ...made.reverse()]) await fs.utimes(p, FIXED_TIME, FIXED_TIME);
  await fs.utimes(kept.dir, kept.atime, kept.mtime);
  return true;
}
