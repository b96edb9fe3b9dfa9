/** What the E2B route files get: options, the authenticated caller, and sandbox lookups. */
import type { FastifyRequest } from 'fastify';
import type { Microvm } from '../../../core/model.js';
import type { Caller } from '../../../core/services.js';
import { CubbyError, isCubbyError } from '../../../errors/index.js';
import type { E2bApiOptions } from '../options.js';
import { e2bFactsOf, type E2bFacts } from '../sandbox-access.js';
import { e2bStateOf, type E2bState } from '../wire.js';

export interface E2bDeps {
  opts: E2bApiOptions;
  now(): Date;
  caller(req: FastifyRequest): Caller;
}

export interface LiveSandbox {
  m: Microvm;
  f: E2bFacts;
  state: E2bState;
}

export const sandboxNotFound = (id: string): CubbyError =>
  new CubbyError('MICROVM_NOT_FOUND', `sandbox '${id}' not found`, { details: { resourceId: id } });

/**
 * The caller's live E2B sandbox with this id. Another tenant's, a terminated one and a microVM
 * made by another front door (no E2B facts, no token) are all simply not found.
 */
export async function liveSandbox(d: E2bDeps, caller: Caller, id: string): Promise<LiveSandbox> {
  let m: Microvm;
  try {
    m = await d.opts.core.microvms.get(caller, id);
  } catch (e) {
    if (isCubbyError(e) && e.kind === 'not_found') throw sandboxNotFound(id);
    throw e;
  }
  const f = e2bFactsOf(m.extra);
  const state = e2bStateOf(m);
  if (!f || !state) throw sandboxNotFound(id);
  return { m, f, state };
}

export function paramId(req: FastifyRequest): string {
  return (req.params as { sandboxID: string }).sandboxID;
}
