/**
 * What Cubby writes beside runsc's image files in a checkpoint directory: the sandbox's spec
 * (restore must use the same rootfs, overlay, platform and network mode) and the size and
 * digest of every file, so a truncated or corrupted checkpoint is refused before runsc sees it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { CubbyError } from '../../errors/index.js';
import type { SandboxStartSpec } from './sandbox-record.js';

export const MANIFEST = 'cubby-checkpoint.json';

export interface CheckpointManifest extends SandboxStartSpec {
  format: 1;
  runtime: 'gvisor';
  platform: string;
  overlay: string;
  /** sha256 is absent while a large file's digest is still being computed in the background. */
  files: Record<string, { size: number; sha256?: string }>;
}

/** Files hashed in the background after a checkpoint returns (large: hashing them would add tens of ms per 20 MB). */
const DEFERRED = /^pages\.img$/;

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function describeFiles(dir: string, deferLarge: boolean): Promise<CheckpointManifest['files']> {
  const files: CheckpointManifest['files'] = {};
  for (const name of await fs.readdir(dir)) {
    if (name === MANIFEST || name.startsWith(`${MANIFEST}.`)) continue;
    const p = path.join(dir, name);
    const st = await fs.stat(p);
    if (!st.isFile()) continue;
    files[name] = deferLarge && DEFERRED.test(name) ? { size: st.size } : { size: st.size, sha256: await sha256File(p) };
  }
  return files;
}

async function save(dir: string, m: CheckpointManifest): Promise<void> {
  const tmp = path.join(dir, `${MANIFEST}.${process.pid}.${Date.now()}.tmp`);
  await fs.writeFile(tmp, JSON.stringify(m, null, 2), { mode: 0o600 });
  await fs.rename(tmp, path.join(dir, MANIFEST));
}

/**
 * Writes the manifest with sizes and the digests of the small files now; the memory pages'
 * digest follows in the background (completeDigests), off the suspend path.
 */
export async function writeManifest(dir: string, m: Omit<CheckpointManifest, 'files'>): Promise<CheckpointManifest> {
  const full: CheckpointManifest = { ...m, files: await describeFiles(dir, true) };
  await save(dir, full);
  return full;
}

/** Adds the deferred digests; quiet if the checkpoint was removed meanwhile. */
export async function completeDigests(dir: string): Promise<void> {
  try {
    const m = JSON.parse(await fs.readFile(path.join(dir, MANIFEST), 'utf8')) as CheckpointManifest;
    for (const [name, f] of Object.entries(m.files)) {
      if (!f.sha256) f.sha256 = await sha256File(path.join(dir, name));
    }
    await save(dir, m);
  } catch {
    /* removed (e.g. resumed and deleted) before we got to it */
  }
}

/**
 * Files whose digest was checked, by path, with the inode, size and change times they had then.
 * An image version's snapshot is restored on every launch, often several at once: hashing its
 * memory pages each time costs CPU the restores need. Any write, truncation or replacement
 * changes ctime (which no caller can set back), so an unchanged file need not be hashed again.
 */
export class VerifiedFiles {
  private readonly seen = new Map<string, string>();

  async verify(file: string, sha256: string): Promise<boolean> {
    const st = await fs.stat(file, { bigint: true });
    const stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${sha256}`;
    if (this.seen.get(file) === stamp) return true;
    const ok = (await sha256File(file)) === sha256;
    if (ok) this.seen.set(file, stamp);
    else this.seen.delete(file);
    return ok;
  }
}

/**
 * Checks the digests of the large files, deferred at read time (those already computed; a
 * checkpoint resumed within moments of being written may not have them yet).
 */
export async function verifyDeferred(dir: string, m: CheckpointManifest, verified: VerifiedFiles): Promise<void> {
  for (const [name, want] of Object.entries(m.files)) {
    if (!DEFERRED.test(name) || !want.sha256) continue;
    if (!(await verified.verify(path.join(dir, name), want.sha256))) {
      throw new CubbyError(
        'RUNTIME_CHECKPOINT_CORRUPT',
        `checkpoint file ${name} does not match its digest (memory pages damaged on disk)`,
      );
    }
  }
}

/**
 * Reads and checks a checkpoint. `full` re-hashes every file; otherwise sizes are checked and
 * only the small state file is hashed (restore latency matters; memory pages are large), not
 * even that when `verified` saw it unchanged (a snapshot restored on every launch).
 */
export async function readManifest(dir: string, opts: { full?: boolean; verified?: VerifiedFiles } = {}): Promise<CheckpointManifest> {
  const raw = await fs.readFile(path.join(dir, MANIFEST), 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') throw new CubbyError('RUNTIME_CHECKPOINT_MISSING', `no checkpoint at ${dir}`);
    throw e;
  });
  let m: CheckpointManifest;
  try {
    m = JSON.parse(raw) as CheckpointManifest;
  } catch {
    throw new CubbyError('RUNTIME_CHECKPOINT_CORRUPT', `checkpoint manifest in ${dir} is not valid JSON`);
  }
  if (m.format !== 1 || m.runtime !== 'gvisor' || !m.files || !m.files['checkpoint.img']) {
    throw new CubbyError('RUNTIME_CHECKPOINT_CORRUPT', `checkpoint in ${dir} is not a gVisor checkpoint this version understands`);
  }
  for (const [name, want] of Object.entries(m.files)) {
    const p = path.join(dir, name);
    const st = await fs.stat(p).catch(() => undefined);
    if (!st) throw new CubbyError('RUNTIME_CHECKPOINT_CORRUPT', `checkpoint file ${name} is missing`);
    if (st.size !== want.size) {
      throw new CubbyError(
        'RUNTIME_CHECKPOINT_CORRUPT',
        `checkpoint file ${name} has ${st.size} bytes, expected ${want.size} (truncated or overwritten)`,
      );
    }
    if (want.sha256 && (opts.full || !DEFERRED.test(name))) {
      const ok = opts.verified && !opts.full ? await opts.verified.verify(p, want.sha256) : (await sha256File(p)) === want.sha256;
      if (!ok) throw new CubbyError('RUNTIME_CHECKPOINT_CORRUPT', `checkpoint file ${name} does not match its digest`);
    }
  }
  return m;
}
