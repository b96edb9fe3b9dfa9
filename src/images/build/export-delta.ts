/**
 * A rebuild's export without comparing file by file: when the new image and the previous
 * version's share their first layers (the base, the cached dependency steps), every path that
 * none of the later layers of either image holds is the same in both trees, so the new rootfs is
 * a hard-link copy of the previous one (`cp -al`, as safe as export-link.ts explains) with only
 * the paths those later layers name (and what they hide or uncover) taken from the built image.
 *
 * For each such path, parents first: gone from the image -> removed; a directory in both -> its
 * attributes are taken from the image and its entries reconciled (entries only the previous tree
 * has are removed, entries only the image has are copied whole: this covers whiteouts and opaque
 * directories of either image, whatever their on-disk form); anything else -> removed and copied.
 * Removed first, then copied in one `rsync -aHAX` of exactly those paths into places that no
 * longer exist, so no shared inode is ever written. Hard links between a copied file and one
 * left linked cannot be kept this way: such a build falls back to the full comparison.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { streamCommand } from '../util/stream-command.js';
import type { LayerRecord } from './export-layers.js';

export interface DeltaPlan {
  /** Paths under the later layers of either image (ancestors included, '' the root). */
  paths: Set<string>;
}

/** What can be derived from `prev` (undefined: no shared first layers, or a later layer is unlisted). */
export function deltaPlan(prev: readonly LayerRecord[], next: readonly LayerRecord[]): DeltaPlan | undefined {
  let common = 0;
  while (common < prev.length && common < next.length && prev[common]?.digest === next[common]?.digest) common++;
  if (common === 0) return undefined;
  const later = [...prev.slice(common), ...next.slice(common)];
  if (later.some((l) => !l.paths)) return undefined;
  const paths = new Set<string>(['']);
  for (const l of later) {
    for (const p of l.paths ?? []) {
      // Never a path that climbs out (a record is ours, but a path is data).
      if (p === '' || p.split('/').some((s) => s === '' || s === '.' || s === '..')) return undefined;
      for (let q = p; q !== '' && !paths.has(q); q = parent(q)) paths.add(q);
    }
  }
  return { paths };
}

const parent = (p: string): string => {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
};
const join = (root: string, rel: string): string => (rel === '' ? root : path.join(root, rel));
const depth = (p: string): number => (p === '' ? 0 : p.split('/').length);

/**
 * A directory's entry names. A name that is not UTF-8 reads back as U+FFFD and could not be
 * named again: such a tree is left to the full comparison (which handles bytes).
 */
async function names(dir: string): Promise<string[]> {
  const list = await fs.readdir(dir);
  if (list.some((n) => n.includes('\uFFFD'))) throw new Error(`a file name in ${dir} is not UTF-8`);
  return list;
}

export type DeltaResult = { ok: true; copied: number; linkMs: number } | { ok: false; why: string };

/**
 * Fills the empty directory `out` with the image mounted at `mnt`, from `prev` and the plan.
 * `tmpDir`: where the file list goes. On { ok: false } `out` is left for the caller to clear.
 */
export async function deltaExport(opts: {
  mnt: string;
  out: string;
  prev: string;
  plan: DeltaPlan;
  rsync: string;
  tmpDir: string;
}): Promise<DeltaResult> {
  const { mnt, out, prev } = opts;
  const t0 = Date.now();
  const cp = await streamCommand('cp', ['-al', '--', `${prev}/.`, `${out}/`], { timeoutMs: 10 * 60_000 });
  if (cp.code !== 0) return { ok: false, why: `hard-link copy failed: ${cp.output.trim().slice(-300)}` };

  const linkMs = Date.now() - t0;
  // Parents first: a path is looked at only below directories both trees have, so no lookup ever
  // passes through a symlink or into a subtree already removed or copied whole.
  const order = [...opts.plan.paths].sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
  const both = new Set<string>();
  const copy: string[] = [];
  const copyWhole = async (rel: string): Promise<void> => {
    copy.push(rel);
    const st = await fs.lstat(join(mnt, rel));
    if (!st.isDirectory()) return;
    for (const n of await names(join(mnt, rel))) await copyWhole(`${rel}/${n}`);
  };
  for (const rel of order) {
    if (rel !== '' && !both.has(parent(rel))) continue;
    const [sm, so] = await Promise.all([fs.lstat(join(mnt, rel)).catch(() => undefined), fs.lstat(join(out, rel)).catch(() => undefined)]);
    if (sm?.isDirectory() && so?.isDirectory()) {
      both.add(rel);
      // The root is not listed: rsync would take "." as the root's entries too (see below).
      if (rel !== '') copy.push(rel);
      const [inImage, inPrev] = await Promise.all([names(join(mnt, rel)), names(join(out, rel))]);
      const image = new Set(inImage);
      const previous = new Set(inPrev);
      const under = (n: string): string => (rel === '' ? n : `${rel}/${n}`);
      for (const n of inPrev) if (!image.has(n)) await fs.rm(join(out, under(n)), { recursive: true, force: true });
      for (const n of inImage) if (!previous.has(n) && !opts.plan.paths.has(under(n))) await copyWhole(under(n));
      continue;
    }
    if (so) await fs.rm(join(out, rel), { recursive: true, force: true });
    if (sm) await copyWhole(rel);
  }

  // A copied file that shares its inode with a file outside the copy would lose that link.
  const groups = new Map<string, { nlink: number; n: number }>();
  for (const rel of copy) {
    const st = await fs.lstat(join(mnt, rel));
    if (st.isDirectory() || st.nlink < 2) continue;
    const k = `${st.dev}:${st.ino}`;
    const g = groups.get(k) ?? { nlink: st.nlink, n: 0 };
    g.n++;
    groups.set(k, g);
  }
  for (const g of groups.values()) if (g.n < g.nlink) return { ok: false, why: 'a changed file is hard linked to an unchanged one' };

  const rsync = (args: string[]) =>
    streamCommand(opts.rsync, ['-aHAX', '--numeric-ids', ...args, '--', `${mnt}/`, `${out}/`], { timeoutMs: 10 * 60_000 });
  if (copy.length > 0) {
    const list = path.join(opts.tmpDir, `export-delta-${process.pid}-${Date.now()}.list`);
    await fs.writeFile(list, copy.map((p) => `${p}\0`).join(''));
    try {
      // Only the listed paths (no recursion), each created anew (its old place was removed above)
      // or, for a directory both have, given the image's attributes.
      const r = await rsync(['--from0', `--files-from=${list}`]);
      if (r.code !== 0) return { ok: false, why: `copying the changed files failed: ${r.output.trim().slice(-300)}` };
    } finally {
      await fs.rm(list, { force: true });
    }
  }
  // Last, the root directory's own attributes (its times after every change in it); none of its entries.
  const root = await rsync(['--dirs', '--exclude=/*']);
  if (root.code !== 0) return { ok: false, why: `setting the root's attributes failed: ${root.output.trim().slice(-300)}` };
  return { ok: true, copied: copy.length, linkMs };
}
