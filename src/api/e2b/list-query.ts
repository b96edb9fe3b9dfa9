/**
 * GET /v2/sandboxes: filters, order and paging over the tenant's live E2B sandboxes. The whole
 * live set is read (it is bounded by the tenant's quotas), filtered, sorted by start time (then
 * id) and cut after the position the opaque nextToken names, so order holds across pages.
 */
import type { Microvm } from '../../core/model.js';
import { CubbyError } from '../../errors/index.js';
import type { E2bFacts } from './sandbox-access.js';
import type { E2bState } from './wire.js';

const invalid = (message: string): CubbyError => new CubbyError('CUBBY_VALIDATION', message);

export interface ListQuery {
  states: Set<E2bState>;
  metadata: Array<[string, string]>;
  startedAfter?: Date;
  template?: string;
  order: 'asc' | 'desc';
  limit: number;
  after?: { t: number; id: string };
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 100;

function one(q: Record<string, unknown>, key: string): string | undefined {
  const v = q[key];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.length ? String(v[v.length - 1]) : undefined;
  return String(v);
}

/** `metadata` is `k=v&k2=v2` with each key and value URI-encoded first (the SDK's form). */
function metadataPairs(raw: string | undefined): Array<[string, string]> {
  if (!raw) return [];
  const out: Array<[string, string]> = [];
  for (const [k, v] of new URLSearchParams(raw)) {
    try {
      out.push([decodeURIComponent(k), decodeURIComponent(v)]);
    } catch {
      throw invalid('metadata filter is not validly encoded');
    }
  }
  return out;
}

function stateSet(v: unknown): Set<E2bState> {
  const raw = (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]).flatMap((s) => s.split(',')).filter(Boolean);
  if (raw.length === 0) return new Set(['running', 'paused']);
  const out = new Set<E2bState>();
  for (const s of raw) {
    if (s !== 'running' && s !== 'paused') throw invalid(`state must be running or paused, got '${s}'`);
    out.add(s);
  }
  return out;
}

function encodeToken(order: string, m: Microvm): string {
  return Buffer.from(JSON.stringify({ o: order, t: m.startedAt.getTime(), id: m.id })).toString('base64url');
}

function decodeToken(token: string, order: string): { t: number; id: string } {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown; t?: unknown; id?: unknown };
    if (v.o === order && typeof v.t === 'number' && typeof v.id === 'string') return { t: v.t, id: v.id };
  } catch {
    // fall through
  }
  throw invalid('nextToken is not valid for this list');
}

export function parseListQuery(q: Record<string, unknown>): ListQuery {
  const order = one(q, 'order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw invalid(`order must be asc or desc, got '${order}'`);
  const limitRaw = one(q, 'limit');
  const limit = limitRaw === undefined ? DEFAULT_LIMIT : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw invalid(`limit must be a whole number from 1 to ${MAX_LIMIT}`);
  const startedAfterRaw = one(q, 'startedAfter');
  const startedAfter = startedAfterRaw === undefined ? undefined : new Date(startedAfterRaw);
  if (startedAfter && Number.isNaN(startedAfter.getTime())) throw invalid('startedAfter must be an ISO 8601 time');
  const token = one(q, 'nextToken');
  const template = one(q, 'template');
  return {
    states: stateSet(q.state),
    metadata: metadataPairs(one(q, 'metadata')),
    ...(startedAfter ? { startedAfter } : {}),
    ...(template ? { template } : {}),
    order,
    limit,
    ...(token ? { after: decodeToken(token, order) } : {}),
  };
}

export interface Candidate {
  m: Microvm;
  f: E2bFacts;
  state: E2bState;
}

/** One page of the candidates, and the token of the next page when more follow. */
export function selectPage(
  all: Candidate[],
  q: ListQuery,
  templateIds: (c: Candidate) => string[],
): { page: Candidate[]; nextToken?: string } {
  const dir = q.order === 'asc' ? 1 : -1;
  const cmp = (a: { t: number; id: string }, b: { t: number; id: string }): number =>
    dir * (a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const pos = (c: Candidate) => ({ t: c.m.startedAt.getTime(), id: c.m.id });
  const kept = all
    .filter((c) => q.states.has(c.state))
    .filter((c) => q.metadata.every(([k, v]) => c.f.metadata[k] === v))
    .filter((c) => !q.startedAfter || c.m.startedAt.getTime() >= (q.startedAfter?.getTime() ?? 0))
    .filter((c) => !q.template || templateIds(c).includes(q.template))
    .filter((c) => !q.after || cmp(pos(c), q.after) > 0)
    .sort((a, b) => cmp(pos(a), pos(b)));
  const page = kept.slice(0, q.limit);
  const last = page[page.length - 1];
  return kept.length > q.limit && last ? { page, nextToken: encodeToken(q.order, last.m) } : { page };
}
