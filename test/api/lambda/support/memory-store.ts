/**
 * State and helpers shared by the in-memory core's services (test-only; see memory-core.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Image, ImageBuild, ImageVersion, Microvm, Page, PageRequest } from '../../../../src/core/model.js';
import type { Caller, ManagedImageInfo } from '../../../../src/core/services.js';
import { CubbyError } from '../../../../src/errors/index.js';

export const DEFAULT_PAGE_SIZE = 20;

export interface MemoryState {
  images: Image[];
  versions: ImageVersion[];
  builds: ImageBuild[];
  microvms: Microvm[];
  tags: Map<string, Record<string, string>>;
  /** clientToken -> (fingerprint of the input, the result), per tenant and operation. */
  idempotency: Map<string, { fingerprint: string; result: unknown }>;
  managed: ManagedImageInfo[];
  /** Every call the services received, newest last: lets tests assert nothing was called. */
  calls: string[];
}

export function lowerAlnum(n: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Offset paging with opaque tokens; a token we did not issue is a validation error. */
export function paginate<T>(items: T[], page: PageRequest): Page<T> {
  let start = 0;
  if (page.nextToken !== undefined) {
    const m = /^p(\d+)$/.exec(Buffer.from(page.nextToken, 'base64url').toString('utf8'));
    if (!m) throw new CubbyError('CUBBY_VALIDATION', 'Invalid nextToken.');
    start = Number(m[1]);
  }
  const size = page.maxResults ?? DEFAULT_PAGE_SIZE;
  const end = start + size;
  const result: Page<T> = { items: items.slice(start, end) };
  if (end < items.length) result.nextToken = Buffer.from(`p${end}`, 'utf8').toString('base64url');
  return result;
}

/** Runs `make` once per (tenant, operation, clientToken); the same token with other input is refused. */
export function idempotent<T>(state: MemoryState, caller: Caller, op: string, token: string | undefined, input: unknown, make: () => T): T {
  if (token === undefined) return make();
  const key = `${caller.tenant.id}/${op}/${token}`;
  const fingerprint = JSON.stringify(input);
  const seen = state.idempotency.get(key);
  if (seen) {
    if (seen.fingerprint !== fingerprint) throw new CubbyError('IDEMPOTENCY_MISMATCH', 'clientToken was used with a different request.');
    return seen.result as T;
  }
  const result = make();
  state.idempotency.set(key, { fingerprint, result });
  return result;
}

export function tagKey(tenantId: string, kind: string, id: string): string {
  return `${tenantId}/${kind}/${id}`;
}

export function managedImages(): ManagedImageInfo[] {
  const at = new Date('2026-01-01T00:00:00Z');
  return [
    { name: 'debian-12-python', createdAt: at, versions: [
      { version: '1.0', status: 'DEPRECATED', createdAt: at },
      { version: '1.1', status: 'AVAILABLE', createdAt: at },
      { version: '1.2', status: 'AVAILABLE', createdAt: at },
    ] },
    { name: 'debian-12-node', createdAt: at, versions: [{ version: '1.0', status: 'AVAILABLE', createdAt: at }] },
    { name: 'debian-12-base', createdAt: at, versions: [{ version: '1.0', status: 'AVAILABLE', createdAt: at }] },
  ];
}
