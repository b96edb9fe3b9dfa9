/**
 * Reads a zip for the fake unpacker the way the real one judges it, without yauzl: entries from
 * the central directory, data through the local headers (stored or deflated), and the same
 * refusals with the same codes (unsafe paths and entry types, too many entries or bytes, not a
 * zip, no Dockerfile at the root). Test-only.
 */
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { CubbyError } from '../../../src/errors/index.js';

export interface FakeZipLimits {
  maxEntries: number;
  maxTotalBytes: number;
}

export interface FakeZipEntry {
  name: string;
  dir: boolean;
  data: Buffer;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

function invalid(why: string): CubbyError {
  return new CubbyError('ARTIFACT_INVALID', `artifact is not a valid zip: ${why}`);
}
function unsafe(name: string, why: string): CubbyError {
  return new CubbyError('ARTIFACT_UNSAFE_PATH', `artifact entry "${name.slice(0, 200)}" ${why}`);
}

/** The relative path an entry may be written at, or the refusal. */
function safeName(name: string): string {
  if (!name || /[\0\\]/.test(name)) throw unsafe(name, 'has an empty name, a NUL or a backslash');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw unsafe(name, 'is an absolute path');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw unsafe(name, 'climbs out of the artifact with ".."');
  if (parts.length === 0) throw unsafe(name, 'names the artifact root');
  return parts.join('/');
}

/** Every entry, checked; throws the error the real unpacker would give. */
export function readFakeZip(zip: Buffer, limits: FakeZipLimits): FakeZipEntry[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0 || eocd + 22 > zip.length) throw invalid('no end of central directory');
  const count = zip.readUInt16LE(eocd + 10);
  if (count > limits.maxEntries) throw new CubbyError('ARTIFACT_TOO_LARGE', `artifact has ${count} entries (limit ${limits.maxEntries})`);
  let at = zip.readUInt32LE(eocd + 16);
  const out: FakeZipEntry[] = [];
  const seen = new Set<string>();
  let total = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== 0x02014b50) throw invalid('bad central directory entry');
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLen = zip.readUInt16LE(at + 28);
    const extraLen = zip.readUInt16LE(at + 30);
    const commentLen = zip.readUInt16LE(at + 32);
    const mode = (zip.readUInt32LE(at + 38) >>> 16) & S_IFMT;
    const local = zip.readUInt32LE(at + 42);
    const raw = zip.subarray(at + 46, at + 46 + nameLen).toString('utf8');
    at += 46 + nameLen + extraLen + commentLen;
    const name = safeName(raw);
    if (mode !== 0 && mode !== S_IFREG && mode !== S_IFDIR) throw unsafe(raw, 'is a link, device, fifo or socket');
    const key = name.toLowerCase();
    if (seen.has(key)) throw unsafe(raw, 'appears twice');
    seen.add(key);
    const dir = mode === S_IFDIR || raw.endsWith('/');
    if (dir) {
      out.push({ name, dir, data: Buffer.alloc(0) });
      continue;
    }
    total += size;
    if (total > limits.maxTotalBytes)
      throw new CubbyError('ARTIFACT_TOO_LARGE', `artifact expands to more than ${limits.maxTotalBytes} bytes`);
    if (local + 30 > zip.length || zip.readUInt32LE(local) !== 0x04034b50) throw invalid('bad local header');
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const body = zip.subarray(start, start + compressed);
    let data: Buffer;
    if (method === 0) data = Buffer.from(body);
    else if (method === 8) {
      try {
        data = inflateRawSync(body);
      } catch (e) {
        throw invalid(String(e));
      }
    } else throw new CubbyError('ARTIFACT_INVALID', `artifact entry "${name}" uses unsupported compression method ${method}`);
    if (data.length !== size) throw new CubbyError('ARTIFACT_TOO_LARGE', `artifact entry "${name}" holds more bytes than its header says`);
    out.push({ name, dir, data });
  }
  if (!out.some((e) => !e.dir && e.name === 'Dockerfile'))
    throw new CubbyError('DOCKERFILE_MISSING', 'the artifact has no Dockerfile at its root');
  return out;
}

/** Where an entry lands under a target directory. */
export function entryPath(targetDir: string, e: FakeZipEntry): string {
  return path.posix.join(targetDir, e.name);
}
