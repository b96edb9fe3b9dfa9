/**
 * Cheap rebuild exports: a version's rootfs shares (hard links) every file that is identical to
 * the same file of the image's newest other version, so a rebuild copies only what changed.
 *
 * Why sharing inodes is safe: a version's rootfs is written only by its own export and never
 * modified afterwards. Sandboxes use it as the read-only lower layer of gVisor's overlay
 * (root:memory / root:dir=<own disk>: writes go to the sandbox's upper layer), the agent is bind
 * mounted from <dataDir>/agent (never copied in), checkpoints and logs live beside the rootfs, and
 * deleting a version only unlinks (rm -rf). A file is linked only when rsync finds it identical
 * in content (--checksum) and in every preserved attribute (mode, owner, times, xattrs, ACLs), or,
 * quicker, when the layers of both images show it cannot differ (export-delta.ts).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { streamCommand } from '../util/stream-command.js';

/** Rootfs directories this process is writing now: never a link source while written. */
const exporting = new Set<string>();

export function markExporting(dir: string): () => void {
  const d = path.resolve(dir);
  exporting.add(d);
  return () => exporting.delete(d);
}

/**
 * The newest complete sibling export of `outputDir` (<image>/<version>/rootfs: the same-named
 * directory of the image's other versions), or undefined. Only in a directory this process owns
 * that nobody else may write to, so no other party can place or change a link source.
 */
export async function linkSource(outputDir: string): Promise<string | undefined> {
  const out = path.resolve(outputDir);
  const versionDir = path.dirname(out);
  const imageDir = path.dirname(versionDir);
  if (imageDir === versionDir) return undefined;
  const st = await fs.lstat(imageDir).catch(() => undefined);
  if (!st?.isDirectory() || st.uid !== process.geteuid?.() || (st.mode & 0o022) !== 0) return undefined;
  let best: { dir: string; ctime: number } | undefined;
  for (const e of await fs.readdir(imageDir).catch(() => [] as string[])) {
    const dir = path.join(imageDir, e, path.basename(out));
    if (dir === out || exporting.has(dir)) continue;
    const s = await fs.lstat(dir).catch(() => undefined);
    // ctime: when the export last changed the directory (nothing changes it afterwards).
    if (s?.isDirectory() && (!best || s.ctimeMs > best.ctime)) best = { dir, ctime: s.ctimeMs };
  }
  return best?.dir;
}

let rsyncPath: Promise<string | undefined> | undefined;

/** rsync, when installed (scripts/install-system.sh installs it); without it exports copy everything. */
export function findRsync(): Promise<string | undefined> {
  rsyncPath ??= (async () => {
    for (const p of ['/usr/bin/rsync', '/bin/rsync', '/usr/local/bin/rsync']) {
      const ok = await fs.access(p, fs.constants.X_OK).then(
        () => true,
        () => false,
      );
      if (ok) {
        const r = await streamCommand(p, ['--version'], { timeoutMs: 10_000 }).catch(() => undefined);
        if (r?.code === 0) return p;
      }
    }
    return undefined;
  })();
  return rsyncPath;
}

/** rsync arguments: a faithful copy of `from` into `to`, linking identical files of `linkDest`. */
export function rsyncArgs(from: string, to: string, linkDest: string): string[] {
  return [
    '-aHAX', // everything cp -a keeps: hard links, ACLs, xattrs, devices, times, owners
    '--numeric-ids',
    '--checksum', // link only on equal content, never on size and mtime alone
    `--link-dest=${path.resolve(linkDest)}`,
    `${from}/`,
    `${to}/`,
  ];
}
