/**
 * Keyset pagination tokens. A token carries the sort key of the last item returned, so items
 * inserted meanwhile never shift a page; it also carries a fingerprint of the list it came from
 * (list name, tenant, filters) so it cannot be replayed against another listing.
 */
import { createHash } from 'node:crypto';
import { CubbyError } from '../errors/index.js';

export const DEFAULT_MAX_RESULTS = 50;
export const MAX_MAX_RESULTS = 100;
const MAX_TOKEN_LENGTH = 1024;

/** Validated page size. */
export function pageSize(maxResults: number | undefined): number {
  if (maxResults === undefined) return DEFAULT_MAX_RESULTS;
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_MAX_RESULTS) {
    throw new CubbyError('CUBBY_VALIDATION', `maxResults must be an integer from 1 to ${MAX_MAX_RESULTS}`);
  }
  return maxResults;
}

function fingerprint(list: string, scope: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([list, scope]))
    .digest('base64url')
    .slice(0, 16);
}

export function encodePageToken(list: string, scope: unknown, position: number[]): string {
  return Buffer.from(JSON.stringify({ f: fingerprint(list, scope), p: position })).toString('base64url');
}

const bad = (): CubbyError => new CubbyError('CUBBY_VALIDATION', 'invalid nextToken');

/** The position a token encodes (undefined for no token); CUBBY_VALIDATION when it is not one of ours for this listing. */
export function decodePageToken(token: string | undefined, list: string, scope: unknown, arity: number): number[] | undefined {
  if (token === undefined) return undefined;
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (typeof parsed !== 'object' || parsed === null) throw bad();
  const { f, p } = parsed as { f?: unknown; p?: unknown };
  if (f !== fingerprint(list, scope)) throw bad();
  if (!Array.isArray(p) || p.length !== arity || !p.every((n) => Number.isSafeInteger(n) && n >= 0)) throw bad();
  return p as number[];
}
