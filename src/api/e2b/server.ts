/**
 * The E2B control plane as a Fastify plugin over the core, served on the same app (and port) as
 * the Lambda MicroVMs API. Its routes are marked publicRoute, so the Lambda API's SigV4 hook
 * skips them; this plugin's own hook authenticates them with X-API-KEY, and its own error
 * handler answers E2B's `{"code","message"}` shapes. Nothing here depends on the Lambda API.
 */
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../../core/services.js';
import { CubbyError } from '../../errors/index.js';
import { publicRoute } from '../route-auth.js';
import { authenticateApiKey } from './auth.js';
import { fromFastifyError, sendE2bError } from './errors.js';
import type { E2bApiOptions } from './options.js';
import type { E2bDeps } from './routes/deps.js';
import { registerLifecycleRoutes } from './routes/lifecycle.js';
import { registerMetricsRoutes } from './routes/metrics.js';
import { registerSandboxRoutes } from './routes/sandboxes.js';

/** Route config of every E2B route: skipped by other front doors' auth, checked by this one's. */
const e2bRoute = { config: { ...publicRoute.config, cubbyE2b: true } } as const;

function isE2bRoute(req: FastifyRequest): boolean {
  return (req.routeOptions.config as { cubbyE2b?: boolean } | undefined)?.cubbyE2b === true;
}

/** Adds the E2B routes to `app` (call before app.listen / app.ready). */
export function registerE2bApi(app: FastifyInstance, opts: E2bApiOptions): void {
  void app.register(async (scope) => {
    const callers = new WeakMap<FastifyRequest, Caller>();
    // Bodies as bytes (handlers parse them), so malformed JSON gets an E2B error, not Fastify's.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.addHook('preHandler', async (req) => {
      if (!isE2bRoute(req)) return;
      callers.set(req, await authenticateApiKey(req.headers, opts.lookupApiKey));
    });
    scope.setErrorHandler((err, req, reply) => {
      const cubby = err instanceof CubbyError ? err : fromFastifyError(err as FastifyError);
      if (cubby.kind === 'internal' || cubby.kind === 'unavailable') req.log.error({ err }, 'E2B request failed');
      return sendE2bError(reply, cubby);
    });
    const deps: E2bDeps = {
      opts,
      now: opts.now ?? (() => new Date()),
      caller(req) {
        const c = callers.get(req);
        if (!c) throw new CubbyError('CUBBY_INTERNAL', 'E2B request reached a handler without authentication');
        return c;
      },
    };
    registerSandboxRoutes(scope, deps, e2bRoute);
    registerLifecycleRoutes(scope, deps, e2bRoute);
    registerMetricsRoutes(scope, deps, e2bRoute);
  });
}
