/**
 * Stores an uploaded code artifact at <artifactsDir>/<tenantId>/<id>.zip (mode 0600), streaming
 * the request body to disk while counting and hashing it, so a 256 MiB zip never sits in memory.
 * The file takes its final name only once it is whole, within the size limit, starts like a zip
 * and has the SHA-256 the request signed; anything else leaves nothing behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CubbyError } from '../../errors/index.js';

/** The build pipeline resolves this scheme to the caller's own upload (src/images/artifact). */
export const ARTIFACT_URI_SCHEME = 'cubby-artifact://';
export const DEFAULT_MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;

/** A zip starts with a local file header, or with the end-of-central-directory record when empty. */
const ZIP_MAGIC = [Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.from([0x50, 0x4b, 0x05, 0x06])];

/** What a client that went away mid-upload looks like, as opposed to a failing disk. */
const CUT_SHORT = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'ABORT_ERR', 'ERR_STREAM_DESTROYED']);

export interface StoreArtifactInput {
  artifactsDir: string;
  tenantId: string;
  body: Readable;
  /** The lower-case hex SHA-256 the request signed (x-amz-content-sha256). */
  expectedSha256: string;
  maxBytes: number;
  /** The error when the body passes maxBytes (default: API_BODY_TOO_LARGE), e.g. the tenant's uploads quota. */
  overLimit?: () => CubbyError;
}

export interface StoredArtifact {
  id: string;
  uri: string;
  file: string;
  size: number;
}

export function tooLarge(maxBytes: number): CubbyError {
  return new CubbyError('API_BODY_TOO_LARGE', `An artifact may be at most ${maxBytes} bytes.`, { details: { maxBytes } });
}

export async function storeArtifact(input: StoreArtifactInput): Promise<StoredArtifact> {
  // Tenant ids come from the store; checked anyway since they become a directory name.
  if (!/^[A-Za-z0-9_-]+$/.test(input.tenantId)) throw new CubbyError('CUBBY_INTERNAL', 'tenant id is not usable as a directory name');
  const id = randomBytes(16).toString('base64url');
  const dir = path.join(input.artifactsDir, input.tenantId);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${id}.zip`);
  const part = `${file}.part`;

  const hash = createHash('sha256');
  let size = 0;
  let head = Buffer.alloc(0);
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > input.maxBytes) {
        done(input.overLimit?.() ?? tooLarge(input.maxBytes));
        return;
      }
      if (head.length < 4) head = Buffer.concat([head, chunk.subarray(0, 4 - head.length)]);
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(input.body, meter, createWriteStream(part, { flags: 'wx', mode: 0o600 }));
    if (hash.digest('hex') !== input.expectedSha256) {
      throw new CubbyError('AUTH_BAD_SIGNATURE', 'The provided x-amz-content-sha256 header does not match what was computed.');
    }
    if (!ZIP_MAGIC.some((m) => head.equals(m))) throw new CubbyError('ARTIFACT_INVALID', 'The upload is not a zip archive.');
    await fs.rename(part, file);
    return { id, uri: `${ARTIFACT_URI_SCHEME}${id}`, file, size };
  } catch (e) {
    await fs.rm(part, { force: true });
    if (e instanceof CubbyError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined && CUT_SHORT.has(code))
      throw new CubbyError('CUBBY_VALIDATION', 'The upload ended before the whole body arrived.', { cause: e });
    throw e;
  }
}
