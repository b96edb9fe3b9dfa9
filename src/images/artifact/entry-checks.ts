/**
 * What an archive entry may be: a regular file or a directory, at a relative path that stays
 * inside the target, not colliding (case-insensitively) with another entry. Links, devices,
 * fifos and sockets are refused outright, whatever they would point at.
 */
import path from 'node:path';
import type { Entry } from 'yauzl';
import { CubbyError } from '../../errors/index.js';

export type EntryKind = 'file' | 'dir';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const MSDOS_DIR = 0x10;

export function unsafe(name: string, why: string): CubbyError {
  return new CubbyError('ARTIFACT_UNSAFE_PATH', `artifact entry "${name.slice(0, 200)}" ${why}`, {
    details: { entry: name.slice(0, 200) },
  });
}

export function entryKind(entry: Entry): EntryKind {
  const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
  const nameIsDir = entry.fileName.endsWith('/');
  if (mode === S_IFLNK) throw unsafe(entry.fileName, 'is a symbolic link; links are not allowed');
  if (mode !== 0 && mode !== S_IFREG && mode !== S_IFDIR) throw unsafe(entry.fileName, 'is a device, fifo or socket');
  if (mode === S_IFDIR || nameIsDir || (mode === 0 && (entry.externalFileAttributes & MSDOS_DIR) !== 0)) return 'dir';
  return 'file';
}

/** Permission bits to create a file with: executable or not, never setuid/setgid/sticky. */
export function fileMode(entry: Entry): number {
  const perm = (entry.externalFileAttributes >>> 16) & 0o777;
  return (perm & 0o111) !== 0 ? 0o755 : 0o644;
}

/** The entry's path relative to the target, checked to stay inside it. */
export function safeRelativePath(name: string, targetDir: string): string {
  if (name.length === 0 || name.length > 4096) throw unsafe(name, 'has an empty or overlong name');
  if (/[\0\\]/.test(name)) throw unsafe(name, 'contains a NUL or backslash');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw unsafe(name, 'is an absolute path');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw unsafe(name, 'climbs out of the artifact with ".."');
  if (parts.length === 0) throw unsafe(name, 'names the artifact root');
  if (parts.some((p) => Buffer.byteLength(p) > 255)) throw unsafe(name, 'has a path component over 255 bytes');
  const rel = parts.join('/');
  const dest = path.resolve(targetDir, rel);
  if (!dest.startsWith(path.resolve(targetDir) + path.sep)) throw unsafe(name, 'resolves outside the artifact');
  return rel;
}

/** Refuses two entries whose names differ only by case (or repeat), except a repeated directory. */
export class NameRegistry {
  private readonly seen = new Map<string, { rel: string; kind: EntryKind }>();

  add(rel: string, kind: EntryKind, original: string): void {
    const key = rel.normalize('NFC').toLowerCase();
    const prev = this.seen.get(key);
    if (prev) {
      if (prev.kind === 'dir' && kind === 'dir' && prev.rel === rel) return;
      throw unsafe(original, prev.rel === rel ? 'appears twice' : `collides with "${prev.rel}" (names differ only by case)`);
    }
    this.seen.set(key, { rel, kind });
  }

  /** The kind of an exact path seen so far. */
  kindOf(rel: string): EntryKind | undefined {
    const e = this.seen.get(rel.normalize('NFC').toLowerCase());
    return e && e.rel === rel ? e.kind : undefined;
  }
}
