/** What every route file gets: the core, ARN helpers, and the per-request context. */
import type { FastifyRequest } from 'fastify';
import type { Caller, CoreServices } from '../../../core/services.js';
import type { LambdaArns } from '../arn.js';
import type { AddressPolicy } from '../../../util/address-policy.js';
import { jsonBody } from '../request-parts.js';

export interface RequestContext {
  caller: Caller;
  /** The query as decoded for signing (see request-parts.ts). */
  query: Record<string, string | string[]>;
}

export interface RouteDeps {
  core: CoreServices;
  arns: LambdaArns;
  endpointFor(microvmId: string): string;
  /** The operator's address policy, which egress connectors are checked against. */
  addresses: AddressPolicy;
  /** The authenticated context; set by the server's auth hook before any handler runs. */
  context(req: FastifyRequest): RequestContext;
}

export function bodyOf(req: FastifyRequest): unknown {
  return jsonBody(req.body, req.headers['content-type']);
}

/** Copies the page fields that are set (the core's PageRequest has no undefined members). */
export function pageOf(q: { maxResults?: number | undefined; nextToken?: string | undefined }): {
  maxResults?: number;
  nextToken?: string;
} {
  return {
    ...(q.maxResults !== undefined ? { maxResults: q.maxResults } : {}),
    ...(q.nextToken !== undefined ? { nextToken: q.nextToken } : {}),
  };
}
