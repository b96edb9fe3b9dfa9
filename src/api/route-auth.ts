/**
 * Shared by every front door served on one Fastify app: a route marked `publicRoute` is skipped
 * by the app's own authentication hook (the Lambda API's SigV4), because it authenticates itself
 * (a second front door with its own credentials, e.g. E2B's X-API-KEY) or needs no credentials.
 */
import type { FastifyRequest } from 'fastify';

export const publicRoute = { config: { cubbyPublic: true } } as const;

export function isPublicRoute(req: FastifyRequest): boolean {
  return (req.routeOptions.config as { cubbyPublic?: boolean } | undefined)?.cubbyPublic === true;
}
