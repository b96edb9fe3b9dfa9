/**
 * Where an exported rootfs came from, so a rebuild can tell which files cannot differ from the
 * previous version's without reading them (export-delta.ts). An image is its layers in order,
 * each named by the digest of its uncompressed content (the OCI diff_ids): two images with the
 * same first layers have the same tree except at the paths their later layers name. For the
 * layers a build made or took from the layer cache (those in the build's own store, above the
 * managed base), the record lists every path the layer holds (read from the layer's directory in
 * the overlay store; whiteouts and opaque directories show up as entries of their directory).
 *
 * One record per export in <storageDir>/exports/, naming the rootfs by path and inode, written
 * once the export is complete: it holds only while no directory of the rootfs changed after it (a
 * deleted and re-made rootfs, or one a runtime added a mount point to, is compared file by file).
 * Records of rootfs directories that are gone are dropped by the builder's sweep and before the
 * next record is written.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { streamCommand } from '../util/stream-command.js';
import type { StorageLayout } from './buildah-storage.js';

export interface LayerRecord {
  /** sha256 of the layer's uncompressed content (its OCI diff_id). */
  digest: string;
  /** Every path the layer holds, relative to the root ('' the root); absent when not known (a base layer). */
  paths?: string[];
}

interface ExportRecord {
  rootfs: string;
  dev: string;
  ino: string;
  layers: LayerRecord[];
}

/** A layer with more entries than this is not listed: a rebuild on it compares file by file. */
const MAX_LAYER_PATHS = 200_000;

/** Layer ids by diff digest in a containers-storage overlay store. */
async function storeLayers(root: string): Promise<Map<string, string>> {
  const byDigest = new Map<string, string>();
  for (const f of ['layers.json', 'volatile-layers.json']) {
    const text = await fs.readFile(path.join(root, 'overlay-layers', f), 'utf8').catch(() => undefined);
    if (!text) continue;
    for (const l of JSON.parse(text) as { id?: string; 'diff-digest'?: string }[]) {
      if (l.id && l['diff-digest']) byDigest.set(l['diff-digest'], l.id);
    }
  }
  return byDigest;
}

/** Every path under `dir` (relative, directories included), or undefined past the bound. */
async function listTree(dir: string): Promise<string[] | undefined> {
  const out: string[] = [];
  const stack = [''];
  while (stack.length > 0) {
    const rel = stack.pop() as string;
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      // A name that is not UTF-8 cannot be named again (it reads back as U+FFFD): not listed.
      if (e.name.includes('\uFFFD')) return undefined;
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      out.push(p);
      if (out.length > MAX_LAYER_PATHS) return undefined;
      if (e.isDirectory()) stack.push(p);
    }
  }
  return out;
}

/**
 * The layers of an image (`diffIds` in order) with the paths of those in the build's own store.
 * A layer of that store whose directory cannot be read is left unlisted (never guessed).
 */
export async function imageLayers(layout: StorageLayout, diffIds: readonly string[]): Promise<LayerRecord[]> {
  const own = await storeLayers(layout.root).catch(() => new Map<string, string>());
  const out: LayerRecord[] = [];
  for (const digest of diffIds) {
    const id = own.get(digest);
    // Layer ids are hex digests; anything else is not a directory name to trust.
    const paths =
      id && /^[0-9a-f]{64}$/.test(id) ? await listTree(path.join(layout.root, 'overlay', id, 'diff')).catch(() => undefined) : undefined;
    out.push(paths ? { digest, paths } : { digest });
  }
  return out;
}

const recordFile = (dir: string, rootfs: string): string =>
  path.join(dir, `${createHash('sha256').update(path.resolve(rootfs)).digest('hex').slice(0, 32)}.json`);

async function identity(rootfs: string): Promise<Pick<ExportRecord, 'dev' | 'ino'> | undefined> {
  const st = await fs.lstat(rootfs, { bigint: true }).catch(() => undefined);
  if (!st?.isDirectory()) return undefined;
  return { dev: String(st.dev), ino: String(st.ino) };
}

/** Records the layers `rootfs` was exported from (after its export is complete), dropping stale records. */
export async function writeExportRecord(dir: string, rootfs: string, layers: LayerRecord[]): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await pruneExportRecords(dir);
  const id = await identity(rootfs);
  if (!id) return;
  const file = recordFile(dir, rootfs);
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify({ rootfs: path.resolve(rootfs), ...id, layers } satisfies ExportRecord));
  await fs.rename(tmp, file);
}

/** Drops the records of rootfs directories that are gone or were made again (a failed or deleted version's). */
export async function pruneExportRecords(dir: string): Promise<void> {
  for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!f.endsWith('.json')) {
      // A crash's leftover (another build's write in progress is younger).
      const st = f.endsWith('.tmp') ? await fs.stat(path.join(dir, f)).catch(() => undefined) : undefined;
      if (st && Date.now() - st.mtimeMs > 10 * 60_000) await fs.rm(path.join(dir, f), { force: true });
      continue;
    }
    const r = await readRecord(path.join(dir, f));
    if (!r || !(await matches(r, path.join(dir, f)))) await fs.rm(path.join(dir, f), { force: true });
  }
}

async function readRecord(file: string): Promise<ExportRecord | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  try {
    const r = JSON.parse(text) as ExportRecord;
    return typeof r.rootfs === 'string' && Array.isArray(r.layers) ? r : undefined;
  } catch {
    return undefined;
  }
}

/** The recorded directory, still there and not changed itself since its record (cheap: the full check is unchangedSince). */
async function matches(r: ExportRecord, file: string): Promise<boolean> {
  const [st, rec] = await Promise.all([
    fs.lstat(r.rootfs, { bigint: true }).catch(() => undefined),
    fs.lstat(file, { bigint: true }).catch(() => undefined),
  ]);
  return !!st?.isDirectory() && !!rec && String(st.dev) === r.dev && String(st.ino) === r.ino && st.ctimeNs <= rec.ctimeNs;
}

/**
 * Whether no directory of `rootfs` changed since `record` was written: an entry created, removed
 * or renamed anywhere (a sandbox runtime making a mount point in it, say) changes its directory's
 * ctime. Linking from the tree (the next export) changes the files' ctimes, never a directory's.
 */
async function unchangedSince(rootfs: string, record: string): Promise<boolean> {
  const r = await streamCommand('find', [rootfs, '-type', 'd', '-newercc', record, '-print', '-quit'], { timeoutMs: 5 * 60_000 });
  return r.code === 0 && r.stdout.trim() === '';
}

/** The layers `rootfs` was exported from, when recorded for exactly this directory, unchanged since. */
export async function readExportRecord(dir: string, rootfs: string): Promise<LayerRecord[] | undefined> {
  const file = recordFile(dir, rootfs);
  const r = await readRecord(file);
  if (!r || r.rootfs !== path.resolve(rootfs) || !(await matches(r, file)) || !(await unchangedSince(rootfs, file))) return undefined;
  return r.layers;
}
