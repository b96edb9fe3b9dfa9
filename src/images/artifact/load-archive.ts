/**
 * Gets a code artifact's bytes: given directly, from a local file (file:///abs/path.zip) or over
 * http(s) (fetch-remote.ts: resolved, checked against the operator's address policy and pinned
 * hop by hop, capped in size and time). Errors name the source as the tenant gave it, never a
 * host path, and one text covers every refused or failed fetch.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArtifactSource } from '../../core/ports/images.js';
import { CubbyError } from '../../errors/index.js';
import { DEFAULT_ADDRESS_POLICY } from '../../util/address-policy.js';
import { fetchFailed, fetchRemote, refusedOnSight, tooLarge, type RemotePolicy } from './fetch-remote.js';
import type { ArtifactLimits } from './limits.js';

export interface SourcePolicy extends RemotePolicy {
  /** When set, file:// artifacts must lie under one of these directories. */
  fileRoots?: string[];
  /** How the source is named in errors (the URI the tenant gave); default: the source itself. */
  label?: string;
}

/**
 * Checks a source without fetching it: its form, and for http(s) what needs no DNS (a literal
 * refused address, a loopback name), refused with the same text as a failed fetch.
 * True when it is local (bytes or file://), i.e. cheap enough to open at request time.
 */
export function checkSource(source: ArtifactSource, policy: SourcePolicy = {}): boolean {
  if (typeof source !== 'string') return true;
  const url = parseSource(source);
  if (url.protocol === 'file:') return true;
  const why = refusedOnSight(url, policy.addresses ?? DEFAULT_ADDRESS_POLICY);
  if (why) {
    policy.log?.({ url: url.href, reason: `refused: ${why}` }, 'code artifact fetch refused');
    throw fetchFailed(policy.label ?? source, `refused: ${why}`);
  }
  return false;
}

function parseSource(source: string): URL {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
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
  if (url.protocol === 'file:') return readLocal(url, limits, policy);
  checkSource(source, policy);
  return fetchRemote(url, policy.label ?? source, limits, policy);
}

async function readLocal(url: URL, limits: ArtifactLimits, policy: SourcePolicy): Promise<Buffer> {
  const file = await localArchivePath(url, limits, policy);
  try {
    return await fs.readFile(file);
  } catch (e) {
    throw unreadable(url, policy, e);
  }
}

/** Said by the URI the tenant gave: the host path is none of its business. */
function unreadable(url: URL, policy: SourcePolicy, cause?: unknown): CubbyError {
  return new CubbyError('ARTIFACT_FETCH_FAILED', `the file:// artifact ${policy.label ?? url.href} cannot be read`, { cause });
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
  let given: string;
  try {
    given = path.resolve(fileURLToPath(url));
  } catch (e) {
    throw unreadable(url, policy, e);
  }
  const file = await fs.realpath(given).catch(() => given);
  if (policy.fileRoots && !policy.fileRoots.some((r) => file.startsWith(path.resolve(r) + path.sep))) {
    throw new CubbyError(
      'ARTIFACT_FETCH_FAILED',
      `the file:// artifact ${policy.label ?? url.href} is outside the directories allowed for this tenant`,
    );
  }
  let st;
  try {
    st = await fs.stat(file);
  } catch (e) {
    throw unreadable(url, policy, e);
  }
  if (!st.isFile()) throw unreadable(url, policy);
  if (st.size > limits.maxArchiveBytes) throw tooLarge(st.size, limits);
  return file;
}
