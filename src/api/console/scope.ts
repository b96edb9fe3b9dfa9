/**
 * Whom a console request acts for: a tenant session acts for its tenant only (a resource of
 * another tenant is "not found", as in the APIs); the operator names the tenant (?tenant=<id>)
 * or, for lists, sees every tenant.
 */
import type { FastifyRequest } from 'fastify';
import type { Caller } from '../../core/services.js';
import type { Image, Microvm, Page, PageRequest } from '../../core/model.js';
import { CubbyError } from '../../errors/index.js';
import type { ConsoleOptions } from './options.js';
import type { ConsoleSession } from './sessions.js';

function tenantParam(req: FastifyRequest): string | undefined {
  const t = (req.query as Record<string, unknown> | undefined)?.tenant;
  return typeof t === 'string' && t.length > 0 ? t : undefined;
}

export async function callerFor(req: FastifyRequest, s: ConsoleSession, o: ConsoleOptions): Promise<Caller> {
  if (s.principal.kind === 'tenant') return { tenant: s.principal.tenant };
  const id = tenantParam(req);
  if (!id) throw new CubbyError('CUBBY_VALIDATION', 'The operator names the tenant (?tenant=<id>).');
  const tenant = await o.store.getTenant(id);
  if (!tenant) throw new CubbyError('TENANT_NOT_FOUND', `no tenant ${id}`);
  return { tenant };
}

export async function callersFor(req: FastifyRequest, s: ConsoleSession, o: ConsoleOptions): Promise<Caller[]> {
  if (s.principal.kind === 'tenant' || tenantParam(req)) return [await callerFor(req, s, o)];
  return (await o.store.listTenants()).map((tenant) => ({ tenant }));
}

export function requireOperator(s: ConsoleSession): void {
  if (s.principal.kind !== 'operator') throw new CubbyError('CONSOLE_OPERATOR_ONLY', 'Only the operator may do this.');
}

/** Every page of a paged list (the console shows whole lists; tenants' lists are bounded by quotas). */
export async function all<T>(list: (page: PageRequest) => Promise<Page<T>>, max = 2000): Promise<T[]> {
  const out: T[] = [];
  let nextToken: string | undefined;
  do {
    const page = await list({ maxResults: 100, ...(nextToken ? { nextToken } : {}) });
    out.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken && out.length < max);
  return out;
}

export function microvmView(m: Microvm, tenantName: string, images: Map<string, Image>, endpoint: string) {
  return {
    id: m.id,
    tenantId: m.tenantId,
    tenant: tenantName,
    image: images.get(m.imageId)?.name ?? m.imageId,
    version: m.imageVersion,
    state: m.state,
    stateReason: m.stateReason ?? null,
    frontDoor: m.extra && typeof m.extra === 'object' && 'e2b' in m.extra ? 'e2b' : 'lambda',
    startedAt: m.startedAt,
    stateChangedAt: m.stateChangedAt ?? null,
    suspendedAt: m.suspendedAt ?? null,
    terminatedAt: m.terminatedAt ?? null,
    lastActivityAt: m.lastActivityAt,
    runningSeconds: m.runningSeconds,
    suspendedSeconds: m.suspendedSeconds,
    maximumDurationSeconds: m.maximumDurationSeconds,
    endpoint,
  };
}
