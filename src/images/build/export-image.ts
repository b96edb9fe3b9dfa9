/** Turns a built image into what the runtime uses: a plain rootfs directory and the image config. */
import { promises as fs } from 'node:fs';
import type { ImageConfig } from '../../core/ports/images.js';
import { CubbyError } from '../../errors/index.js';
import { streamCommand } from '../util/stream-command.js';
import type { BuildahRunner, StorageLayout } from './buildah-storage.js';
import { findRsync, markExporting, rsyncArgs } from './export-link.js';
import { deltaExport, type DeltaPlan } from './export-delta.js';

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
  return (await inspectImage(buildah, layout, ref)).config;
}

/** The image's config and its layers' digests (uncompressed, in order: the OCI diff_ids). */
export async function inspectImage(
  buildah: BuildahRunner,
  layout: StorageLayout,
  ref: string,
): Promise<{ config: ImageConfig; diffIds: string[] }> {
  const out = await must(buildah, layout, ['inspect', '--type', 'image', ref]);
  const parsed = JSON.parse(out) as { OCIv1?: { config?: OciConfig; rootfs?: { diff_ids?: unknown } } };
  const ids = parsed.OCIv1?.rootfs?.diff_ids;
  const diffIds = Array.isArray(ids) && ids.every((d) => typeof d === 'string') ? (ids as string[]) : [];
  return { config: toImageConfig(parsed.OCIv1?.config ?? {}), diffIds };
}

export interface ExportOptions {
  /** An earlier export of the same image (export-link.ts). */
  linkDest?: string;
  /** What of `linkDest` is known to be unchanged (export-delta.ts); else files are compared one by one. */
  plan?: DeltaPlan;
  /** Scratch space for the delta export's file list. */
  tmpDir?: string;
}

export interface ExportResult {
  /** The directory unchanged files were linked from, if any. */
  linked?: string;
  /** How the export was made, for the build log. */
  how: string;
}

/**
 * Copies the image's filesystem into `outputDir` (created; must not exist). With a link source
 * and rsync installed, unchanged files are hard linked from it instead of copied: known unchanged
 * from the layers with a plan (export-delta.ts), else found by rsync comparing every file (see
 * export-link.ts). Whatever fails there, a plain copy into an empty directory still gives a
 * whole rootfs.
 */
export async function exportRootfs(
  buildah: BuildahRunner,
  layout: StorageLayout,
  ref: string,
  outputDir: string,
  opts: ExportOptions = {},
): Promise<ExportResult> {
  const { linkDest, plan } = opts;
  const container = (await must(buildah, layout, ['from', '--pull-never', ref])).split('\n').pop() as string;
  const done = markExporting(outputDir);
  const fresh = async (): Promise<void> => {
    await fs.rm(outputDir, { recursive: true, force: true });
    await fs.mkdir(outputDir, { mode: 0o755 });
  };
  try {
    const mnt = (await must(buildah, layout, ['mount', container])).split('\n').pop() as string;
    await fs.mkdir(outputDir, { mode: 0o755 });
    const rsync = linkDest ? await findRsync() : undefined;
    let why = '';
    if (rsync && linkDest && plan) {
      const r = await deltaExport({ mnt, out: outputDir, prev: linkDest, plan, rsync, tmpDir: opts.tmpDir ?? layout.tmp }).catch(
        (e: unknown) => ({ ok: false as const, why: (e as Error).message }),
      );
      if (r.ok) return { linked: linkDest, how: `hard-link copy ${r.linkMs} ms, ${r.copied} paths of the later layers copied` };
      why = `: ${r.why}`;
      await fresh();
    }
    if (rsync && linkDest) {
      const r = await streamCommand(rsync, rsyncArgs(mnt, outputDir, linkDest), { timeoutMs: 10 * 60_000 });
      if (r.code === 0) return { linked: linkDest, how: `compared file by file${why}` };
      await fresh();
    }
    const cp = await streamCommand('cp', ['-a', `${mnt}/.`, `${outputDir}/`], { timeoutMs: 10 * 60_000 });
    if (cp.code !== 0) throw new CubbyError('BUILD_FAILED', `exporting the image: copy failed: ${cp.output.slice(-1500)}`);
    return { how: 'copied whole' };
  } finally {
    done();
    await buildah.run(layout, ['umount', container]);
    await buildah.run(layout, ['rm', container]);
  }
}
