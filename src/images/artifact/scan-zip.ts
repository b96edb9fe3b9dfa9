/**
 * Checks a zip the way extraction would, from its central directory alone, and reads the
 * Dockerfile at its root: so a request with a broken or hostile local artifact is refused at
 * once, and nothing is written anywhere. Extraction still checks the bytes as they come.
 */
import type { Entry } from 'yauzl';
import { CubbyError } from '../../errors/index.js';
import { NameRegistry } from './entry-checks.js';
import { checkEntryHeader, mapZipError, openEntry, openZip, walkEntries } from './extract-zip.js';
import type { ArtifactLimits } from './limits.js';

/** A Dockerfile larger than this is refused (real ones are a few KiB). */
export const MAX_DOCKERFILE_BYTES = 1024 * 1024;

/** Where entries are placed for the path checks; nothing is created there. */
const VIRTUAL_ROOT = '/artifact';

/** Returns the root Dockerfile's text; throws the error extraction would give. */
export async function scanZip(archive: Buffer | string, limits: ArtifactLimits): Promise<string> {
  const zip = await openZip(archive);
  try {
    const names = new NameRegistry();
    const totals = { bytes: 0, entries: 0 };
    let dockerfile: Entry | undefined;
    await walkEntries(zip, limits, (e) => {
      const { rel, kind } = checkEntryHeader(e, VIRTUAL_ROOT, limits, names, totals);
      if (kind === 'file') totals.bytes += e.uncompressedSize;
      if (rel === 'Dockerfile' && kind === 'file') dockerfile = e;
    });
    if (!dockerfile) throw new CubbyError('DOCKERFILE_MISSING', 'the artifact has no Dockerfile at its root');
    return await readSmallEntry(zip, dockerfile);
  } finally {
    zip.close();
  }
}

async function readSmallEntry(zip: Awaited<ReturnType<typeof openZip>>, entry: Entry): Promise<string> {
  if (entry.uncompressedSize > MAX_DOCKERFILE_BYTES) {
    throw new CubbyError('DOCKERFILE_INVALID', `the Dockerfile is ${entry.uncompressedSize} bytes (limit ${MAX_DOCKERFILE_BYTES})`);
  }
  const input = await openEntry(zip, entry);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of input) {
      size += (c as Buffer).length;
      // Counted as read: a header that understates the size gets no further than the limit.
      if (size > MAX_DOCKERFILE_BYTES) throw new CubbyError('DOCKERFILE_INVALID', `the Dockerfile is over ${MAX_DOCKERFILE_BYTES} bytes`);
      chunks.push(c as Buffer);
    }
  } catch (e) {
    input.destroy();
    throw mapZipError(e);
  }
  return Buffer.concat(chunks).toString('utf8');
}
