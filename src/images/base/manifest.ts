/** The manifest.json stored beside each built base rootfs. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ManagedImageInfo } from '../../core/ports/images.js';

/** What the port reports of a built version, less its place on disk, plus the image it was derived from. */
export type BaseManifest = Omit<ManagedImageInfo, 'rootfs'> & { derivedFrom?: { name: string; version: string } };

export const MANIFEST_FILE = 'manifest.json';

/** Reads a version directory's manifest; undefined when absent or unreadable (not a finished build). */
export async function readManifest(versionDir: string): Promise<BaseManifest | undefined> {
  try {
    const m = JSON.parse(await fs.readFile(path.join(versionDir, MANIFEST_FILE), 'utf8')) as BaseManifest;
    return typeof m.name === 'string' && typeof m.version === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}

export async function writeManifest(versionDir: string, m: BaseManifest): Promise<void> {
  await fs.writeFile(path.join(versionDir, MANIFEST_FILE), JSON.stringify(m, null, 2) + '\n');
}
