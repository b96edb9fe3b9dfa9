/**
 * Extracts a zip into a directory, treating it as hostile: paths and entry types are checked
 * before anything is written, sizes are counted on the bytes actually written, files are created
 * with O_EXCL|O_NOFOLLOW, and on any failure the whole target directory is removed.
 */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import type { UnpackedArtifact } from '../../core/ports/images.js';
import { CubbyError } from '../../errors/index.js';
import { NameRegistry, entryKind, fileMode, safeRelativePath, type EntryKind } from './entry-checks.js';
import { RATIO_FLOOR_BYTES, type ArtifactLimits } from './limits.js';

export async function extractZip(archive: Buffer, targetDir: string, limits: ArtifactLimits): Promise<UnpackedArtifact> {
  const dir = path.resolve(targetDir);
  await prepareTarget(dir);
  try {
    const zip = await openZip(archive);
    try {
      const result = await extractEntries(zip, dir, limits);
      const df = await fs.lstat(path.join(dir, 'Dockerfile')).catch(() => undefined);
      if (!df?.isFile()) {
        throw new CubbyError('DOCKERFILE_MISSING', 'the artifact has no Dockerfile at its root');
      }
      return { dir, dockerfile: path.join(dir, 'Dockerfile'), ...result };
    } finally {
      zip.close();
    }
  } catch (e) {
    await fs.rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function prepareTarget(dir: string): Promise<void> {
  const existing = await fs.readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (existing && existing.length > 0) {
    throw new CubbyError('CUBBY_VALIDATION', `artifact target ${dir} is not empty`);
  }
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
}

/** Opens a zip held in memory, or (a path) in place on disk, reading entries on demand. */
export function openZip(archive: Buffer | string): Promise<ZipFile> {
  const opts = { lazyEntries: true, decodeStrings: true, validateEntrySizes: true, strictFileNames: true, autoClose: false };
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, zip?: ZipFile): void => {
      if (err || !zip) reject(mapZipError(err ?? new Error('no zip')));
      else resolve(zip);
    };
    if (typeof archive === 'string') yauzl.open(archive, opts, done);
    else yauzl.fromBuffer(archive, opts, done);
  });
}

async function extractEntries(zip: ZipFile, dir: string, limits: ArtifactLimits): Promise<{ files: number; bytes: number }> {
  const names = new NameRegistry();
  const totals = { files: 0, bytes: 0, entries: 0 };
  await walkEntries(zip, limits, (entry) => writeEntry(zip, entry, dir, limits, names, totals));
  return { files: totals.files, bytes: totals.bytes };
}

/** Visits the entries one at a time (the next is read once `visit` is done); the first failure ends the walk. */
export async function walkEntries(zip: ZipFile, limits: ArtifactLimits, visit: (entry: Entry) => Promise<void> | void): Promise<void> {
  if (zip.entryCount > limits.maxEntries) {
    throw new CubbyError('ARTIFACT_TOO_LARGE', `artifact has ${zip.entryCount} entries (limit ${limits.maxEntries})`);
  }
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (e: unknown): void => {
      if (!failed) {
        failed = true;
        reject(mapZipError(e));
      }
    };
    zip.on('error', fail);
    zip.on('end', () => {
      if (!failed) resolve();
    });
    zip.on('entry', (entry: Entry) => {
      if (failed) return;
      Promise.resolve()
        .then(() => visit(entry))
        .then(() => {
          if (!failed) zip.readEntry();
        }, fail);
    });
    zip.readEntry();
  });
}

/**
 * What the entry's header says, checked before a byte is read: the path, the kind, collisions,
 * encryption and compression, and the sizes against the limits. Returns its relative path and kind.
 */
export function checkEntryHeader(
  entry: Entry,
  dir: string,
  limits: ArtifactLimits,
  names: NameRegistry,
  totals: { bytes: number; entries: number },
): { rel: string; kind: EntryKind } {
  if (++totals.entries > limits.maxEntries) {
    throw new CubbyError('ARTIFACT_TOO_LARGE', `artifact has more than ${limits.maxEntries} entries`);
  }
  const rel = safeRelativePath(entry.fileName, dir);
  const kind = entryKind(entry);
  names.add(rel, kind, entry.fileName);
  for (let p = path.dirname(rel); p !== '.'; p = path.dirname(p)) {
    if (names.kindOf(p) === 'file') throw new CubbyError('ARTIFACT_INVALID', `artifact entry "${rel}" lies under the file "${p}"`);
  }
  if (kind === 'dir') return { rel, kind };
  if (entry.isEncrypted()) throw new CubbyError('ARTIFACT_INVALID', `artifact entry "${rel}" is encrypted`);
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
    throw new CubbyError('ARTIFACT_INVALID', `artifact entry "${rel}" uses unsupported compression method ${entry.compressionMethod}`);
  }
  if (totals.bytes + entry.uncompressedSize > limits.maxTotalBytes) throw totalTooLarge(limits);
  if (entry.uncompressedSize > RATIO_FLOOR_BYTES && entry.uncompressedSize / Math.max(1, entry.compressedSize) > limits.maxEntryRatio) {
    throw new CubbyError(
      'ARTIFACT_TOO_LARGE',
      `artifact entry "${rel}" expands ${Math.round(entry.uncompressedSize / Math.max(1, entry.compressedSize))}x (limit ${limits.maxEntryRatio}x): refusing a likely zip bomb`,
    );
  }
  return { rel, kind };
}

async function writeEntry(
  zip: ZipFile,
  entry: Entry,
  dir: string,
  limits: ArtifactLimits,
  names: NameRegistry,
  totals: { files: number; bytes: number; entries: number },
): Promise<void> {
  const { rel, kind } = checkEntryHeader(entry, dir, limits, names, totals);
  const dest = path.join(dir, rel);
  if (kind === 'dir') {
    await fs.mkdir(dest, { recursive: true, mode: 0o755 });
    return;
  }
  await fs.mkdir(path.dirname(dest), { recursive: true, mode: 0o755 });
  const input = await openEntry(zip, entry);
  // yauzl's inner streams may still report an error after the pipeline has failed and let go.
  input.on('error', () => undefined);
  const handle = await fs
    .open(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, fileMode(entry))
    .catch((e: unknown) => {
      input.destroy();
      throw e;
    });
  // Counted as written: a header that lies about sizes cannot get more than the limits through.
  let written = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      written += chunk.length;
      if (written > entry.uncompressedSize) {
        cb(new CubbyError('ARTIFACT_TOO_LARGE', `artifact entry "${rel}" holds more bytes than its header says`));
        return;
      }
      if (totals.bytes + written > limits.maxTotalBytes) {
        cb(totalTooLarge(limits));
        return;
      }
      cb(null, chunk);
    },
  });
  // The write stream owns the handle and closes it, on success and on error alike.
  await pipeline(input, counter, handle.createWriteStream());
  totals.bytes += written;
  totals.files++;
}

export function openEntry(zip: ZipFile, entry: Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => (err || !stream ? reject(mapZipError(err ?? new Error('no stream'))) : resolve(stream)));
  });
}

function totalTooLarge(limits: ArtifactLimits): CubbyError {
  return new CubbyError('ARTIFACT_TOO_LARGE', `artifact expands to more than ${limits.maxTotalBytes} bytes`);
}

/** yauzl's own refusals, as Cubby errors. */
export function mapZipError(e: unknown): CubbyError {
  if (e instanceof CubbyError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/^(absolute path|invalid relative path|invalid characters in fileName)/.test(msg)) {
    return new CubbyError('ARTIFACT_UNSAFE_PATH', `artifact entry refused: ${msg.slice(0, 300)}`);
  }
  if (/too many bytes in the stream/.test(msg)) {
    return new CubbyError('ARTIFACT_TOO_LARGE', `artifact entry holds more bytes than its header says: ${msg}`);
  }
  return new CubbyError('ARTIFACT_INVALID', `artifact is not a valid zip: ${msg.slice(0, 300)}`, { cause: e });
}
