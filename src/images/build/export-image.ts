/** Turns a built image into what the runtime uses: a plain rootfs directory and the image config. */
import { promises as fs } from 'node:fs';
import type { ImageConfig } from '../../core/ports/images.js';
import { CubbyError } from '../../errors/index.js';
import { streamCommand } from '../util/stream-command.js';
import type { BuildahRunner, StorageLayout } from './buildah-storage.js';
import { findRsync, markExporting, rsyncArgs } from './export-link.js';

interface OciConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, unknown> | null;
}

export function toImageConfig(c: OciConfig): ImageConfig {
  const env: Record<string, string> = {};
  for (const kv of c.Env ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const ports = Object.keys(c.ExposedPorts ?? {})
    .map((p) => parseInt(p, 10))
    .filter((p) => p > 0 && p < 65536);
  return {
    entrypoint: c.Entrypoint ?? [],
    cmd: c.Cmd ?? [],
    env,
    workdir: c.WorkingDir || '/',
    ...(c.User ? { user: c.User } : {}),
    exposedPorts: [...new Set(ports)].sort((a, b) => a - b),
  };
}

async function must(buildah: BuildahRunner, layout: StorageLayout, args: string[]): Promise<string> {
  const r = await buildah.run(layout, args, { timeoutMs: 5 * 60_000 });
  if (r.code !== 0) throw new CubbyError('BUILD_FAILED', `exporting the image: buildah ${args[0]} failed: ${r.output.trim().slice(-1500)}`);
  return r.stdout.trim();
}

export async function readImageConfig(buildah: BuildahRunner, layout: StorageLayout, ref: string): Promise<ImageConfig> {
  const out = await must(buildah, layout, ['inspect', '--type', 'image', ref]);
  const parsed = JSON.parse(out) as { OCIv1?: { config?: OciConfig } };
  return toImageConfig(parsed.OCIv1?.config ?? {});
}

/**
 * Copies the image's filesystem into `outputDir` (created; must not exist). With `linkDest` (an
 * earlier export of the same image) and rsync installed, files identical to the earlier export's
 * are hard linked from it instead of copied (see export-link.ts); else everything is copied.
 * Returns the directory files were linked from, if any.
 */
export async function exportRootfs(
  buildah: BuildahRunner,
  layout: StorageLayout,
  ref: string,
  outputDir: string,
  linkDest?: string,
): Promise<string | undefined> {
  const container = (await must(buildah, layout, ['from', '--pull-never', ref])).split('\n').pop() as string;
  const done = markExporting(outputDir);
  try {
    const mnt = (await must(buildah, layout, ['mount', container])).split('\n').pop() as string;
    await fs.mkdir(outputDir, { mode: 0o755 });
    const rsync = linkDest ? await findRsync() : undefined;
    if (rsync && linkDest) {
      const r = await streamCommand(rsync, rsyncArgs(mnt, outputDir, linkDest), { timeoutMs: 10 * 60_000 });
      if (r.code === 0) return linkDest;
      // Whatever went wrong (a link source on another file system, too many links), a plain copy
      // into an empty directory still gives a whole rootfs.
      await fs.rm(outputDir, { recursive: true, force: true });
      await fs.mkdir(outputDir, { mode: 0o755 });
    }
    const cp = await streamCommand('cp', ['-a', `${mnt}/.`, `${outputDir}/`], { timeoutMs: 10 * 60_000 });
    if (cp.code !== 0) throw new CubbyError('BUILD_FAILED', `exporting the image: copy failed: ${cp.output.slice(-1500)}`);
    return undefined;
  } finally {
    done();
    await buildah.run(layout, ['umount', container]);
    await buildah.run(layout, ['rm', container]);
  }
}
