/**
 * Gets a code artifact's bytes: given directly, from a local file (file:///abs/path.zip) or over
 * http(s). Downloads are capped in size and time, and every redirect hop is checked again.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArtifactSource } from '../../core/ports/images.js';
import { CubbyError } from '../../errors/index.js';
import type { ArtifactLimits } from './limits.js';

export interface SourcePolicy {
  /** When set, file:// artifacts must lie under one of these directories. */
  fileRoots?: string[];
  /** Decides whether an http(s) URL may be fetched (each redirect hop included). Default: any. */
  allowUrl?: (url: URL) => boolean;
}

const MAX_REDIRECTS = 5;

/**
 * Checks a source without fetching it: its form, and for http(s) the policy on its first host.
 * True when it is local (bytes or file://), i.e. cheap enough to open at request time.
 */
export function checkSource(source: ArtifactSource, policy: SourcePolicy = {}): boolean {
  if (typeof source !== 'string') return true;
  const url = parseSource(source);
  if (url.protocol === 'file:') return true;
  if (policy.allowUrl && !policy.allowUrl(url)) throw new CubbyError('ARTIFACT_FETCH_FAILED', `fetching artifacts from ${url.host} is not allowed`);
  return false;
}

function parseSource(source: string): URL {
  let url: URL;
  try { url = new URL(source); } catch {
    throw new CubbyError('ARTIFACT_INVALID', `artifact location is not a URI: ${source.slice(0, 200)}`);
  }
  if (url.protocol !== 'file:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CubbyError('ARTIFACT_INVALID', `unsupported artifact scheme ${url.protocol} (use file://, http:// or https://)`);
  }
  return url;
}

export async function loadArchive(source: ArtifactSource, limits: ArtifactLimits, policy: SourcePolicy = {}): Promise<Buffer> {
  if (typeof source !== 'string') {
    if (source.byteLength > limits.maxArchiveBytes) throw tooLarge(source.byteLength, limits);
    return Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  }
  const url = parseSource(source);
  return url.protocol === 'file:' ? readLocal(url, limits, policy) : download(url, limits, policy);
}

async function readLocal(url: URL, limits: ArtifactLimits, policy: SourcePolicy): Promise<Buffer> {
  return fs.readFile(await localArchivePath(url, limits, policy));
}

/**
 * Where a local source's zip is, once the policy allows it: a regular file within the size
 * limit, under an allowed root. The request-time check opens it there instead of reading it all.
 */
export async function localArchive(source: ArtifactSource, limits: ArtifactLimits, policy: SourcePolicy = {}): Promise<Buffer | string> {
  if (typeof source !== 'string') return loadArchive(source, limits, policy);
  const url = parseSource(source);
  if (url.protocol !== 'file:') throw new CubbyError('ARTIFACT_INVALID', `${url.protocol} artifacts are not local`);
  return localArchivePath(url, limits, policy);
}

async function localArchivePath(url: URL, limits: ArtifactLimits, policy: SourcePolicy): Promise<string> {
  // Resolve links first: a link under an allowed root must not lead outside it.
  const given = path.resolve(fileURLToPath(url));
  const file = await fs.realpath(given).catch(() => given);
  if (policy.fileRoots && !policy.fileRoots.some((r) => file.startsWith(path.resolve(r) + path.sep))) {
    throw new CubbyError('ARTIFACT_FETCH_FAILED', `artifact ${file} is outside the allowed directories`);
  }
  let st;
  try { st = await fs.stat(file); } catch (e) {
    throw new CubbyError('ARTIFACT_FETCH_FAILED', `cannot read artifact ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  if (!st.isFile()) throw new CubbyError('ARTIFACT_FETCH_FAILED', `artifact ${file} is not a regular file`);
  if (st.size > limits.maxArchiveBytes) throw tooLarge(st.size, limits);
  return file;
}

async function download(start: URL, limits: ArtifactLimits, policy: SourcePolicy): Promise<Buffer> {
  const signal = AbortSignal.timeout(limits.fetchTimeoutMs);
  let url = start;
  try {
    for (let hop = 0; ; hop++) {
      if (policy.allowUrl && !policy.allowUrl(url)) {
        throw new CubbyError('ARTIFACT_FETCH_FAILED', `fetching artifacts from ${url.host} is not allowed`);
      }
      const res = await fetch(url, { redirect: 'manual', signal });
      const loc = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && loc) {
        await res.body?.cancel();
        if (hop >= MAX_REDIRECTS) throw new CubbyError('ARTIFACT_FETCH_FAILED', `too many redirects fetching ${start.href}`);
        url = new URL(loc, url);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') {
          throw new CubbyError('ARTIFACT_FETCH_FAILED', `redirect to unsupported scheme ${url.protocol}`);
        }
        continue;
      }
      if (!res.ok || !res.body) {
        await res.body?.cancel();
        throw new CubbyError('ARTIFACT_FETCH_FAILED', `fetching ${url.href} failed: HTTP ${res.status}`);
      }
      const declared = Number(res.headers.get('content-length') ?? NaN);
      if (declared > limits.maxArchiveBytes) { await res.body.cancel(); throw tooLarge(declared, limits); }
      const chunks: Buffer[] = [];
      let got = 0;
      for await (const chunk of res.body) {
        got += (chunk as Uint8Array).byteLength;
        if (got > limits.maxArchiveBytes) throw tooLarge(got, limits);
        chunks.push(Buffer.from(chunk as Uint8Array));
      }
      return Buffer.concat(chunks);
    }
  } catch (e) {
    if (e instanceof CubbyError) throw e;
    const why = signal.aborted ? `timed out after ${limits.fetchTimeoutMs} ms` : (e as Error).message;
    throw new CubbyError('ARTIFACT_FETCH_FAILED', `fetching ${start.href} failed: ${why}`, { cause: e });
  }
}

function tooLarge(size: number, limits: ArtifactLimits): CubbyError {
  return new CubbyError('ARTIFACT_TOO_LARGE', `artifact is larger than ${limits.maxArchiveBytes} bytes`, { details: { size } });
}
