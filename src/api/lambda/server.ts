/**
 * The Lambda MicroVMs API (version 2025-09-09) as a Fastify app over the core. Every request is
 * authenticated with Signature Version 4 before its handler runs; bodies are collected as bytes
 * (the signature covers them) and parsed as JSON by the handlers.
 */
import { randomUUID } from 'node:crypto';
import type { Http2Session } from 'node:http2';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { CubbyError, asCubbyError } from '../../errors/index.js';
import { LambdaArns } from './arn.js';
import { SigV4Authenticator } from './auth/sigv4-authenticator.js';
import { sendError } from './errors.js';
import { DEFAULT_BODY_LIMIT, DEFAULT_MAX_ARTIFACT_BYTES, DEFAULT_REGION, type LambdaApiOptions } from './options.js';
import { splitTarget } from './request-parts.js';
import { DEFAULT_ADDRESS_POLICY } from '../../util/address-policy.js';
import { isPublicRoute, publicRoute } from '../route-auth.js';
import type { RequestContext, RouteDeps } from './routes/deps.js';
import { registerCubbyExtensionRoutes } from './routes/cubby-extensions.js';
import { registerCubbyUsageRoutes } from './routes/cubby-usage.js';
import { registerImageBuildRoutes } from './routes/image-builds.js';
import { registerImageVersionRoutes } from './routes/image-versions.js';
import { registerImageRoutes } from './routes/images.js';
import { registerManagedImageRoutes } from './routes/managed-images.js';
import { registerMicrovmRoutes } from './routes/microvms.js';
import { registerTagRoutes } from './routes/tags.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { registerRoleRoutes } from './routes/roles.js';
import { authorizeSession } from './auth/session-scope.js';

/**
 * Route options for a route the host adds to this app that must answer without a signature
 * (e.g. `app.get('/metrics', publicRoute, handler)`, or another front door's routes, which
 * authenticate themselves); every other route requires SigV4.
 */
export { publicRoute };
const isPublic = isPublicRoute;

/** An upload route left its body unread (see routes/cubby-extensions.ts); it checks the hash itself. */
function isStreamed(req: FastifyRequest): boolean {
  return (req.routeOptions.config as { cubbyStreamedBody?: boolean } | undefined)?.cubbyStreamedBody === true && !Buffer.isBuffer(req.body);
}

/** Tag ARNs may be 10 000 characters (find-my-way's default limit for a path parameter is 100). */
const MAX_PARAM_LENGTH = 10_240;

/** Errors Fastify raises itself (body too large, bad content length, ...) in Cubby terms. */
function fromFastifyError(err: FastifyError): CubbyError {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new CubbyError('API_BODY_TOO_LARGE', 'Request body is larger than this server accepts.');
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return new CubbyError('CUBBY_VALIDATION', err.message);
  return asCubbyError(err);
}

export function createLambdaApi(opts: LambdaApiOptions): FastifyInstance {
  const logger = opts.logger;
  const app = Fastify({
    ...(typeof logger === 'object' ? { loggerInstance: logger } : { logger: logger ?? false }),
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    genReqId: () => randomUUID(),
    // Typed as the HTTP/1 server the rest of the app is written against: Node's HTTP/2
    // compatibility request and reply carry the same surface (Host is restored below).
    ...((opts.tls ? { http2: true, https: { allowHTTP1: true, cert: opts.tls.cert, key: opts.tls.key } } : {}) as object),
    // Fastify closes an HTTP/2 session after 72 s without frames, even with a request in flight,
    // and undici fails that request on the GOAWAY: an E2B create that builds `base` first (up to
    // 15 min, silent meanwhile) needs longer. Idle sessions still end when the server closes.
    ...(opts.tls ? { http2SessionTimeout: 16 * 60_000 } : {}),
  });
  if (opts.tls) {
    // HTTP/2 names the host :authority; SigV4 and routes read Host.
    app.addHook('onRequest', async (req) => {
      const raw = req.raw.headers;
      if (raw.host === undefined && typeof raw[':authority'] === 'string') raw.host = raw[':authority'];
    });
    // A client's idle HTTP/2 session would hold close() open until Fastify's session timeout
    // (72 s): on close, each session is told to go away (GOAWAY; streams in flight finish).
    const sessions = new Set<Http2Session>();
    app.server.on('session', (session: Http2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    });
    app.addHook('preClose', async () => {
      for (const session of sessions) session.close();
    });
  }
  const authenticator = new SigV4Authenticator({
    lookupKey: opts.lookupKey,
    ...(opts.lookupSession ? { lookupSession: opts.lookupSession } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.replayCacheSize !== undefined ? { replayCacheSize: opts.replayCacheSize } : {}),
  });
  const contexts = new WeakMap<FastifyRequest, RequestContext>();
  const arns = new LambdaArns(opts.region ?? DEFAULT_REGION);

  // Bodies stay bytes: the signature covers them exactly, and handlers parse JSON themselves.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-amzn-RequestId', req.id);
  });
  app.addHook('preHandler', async (req) => {
    if (isPublic(req)) return;
    const { rawPath, query } = splitTarget(req.url);
    const body = Buffer.isBuffer(req.body) ? req.body : undefined;
    const caller = await authenticator.authenticate({
      method: req.method,
      rawPath,
      query,
      headers: req.headers,
      body,
      streamedBody: isStreamed(req),
    });
    // A microVM's session credential reaches only what its execution role allows.
    if (caller.session) authorizeSession(req, caller, arns);
    contexts.set(req, { caller, query });
  });

  app.setErrorHandler((err, req, reply) => {
    const cubby = err instanceof CubbyError ? err : fromFastifyError(err as FastifyError);
    if (cubby.kind === 'internal' || cubby.kind === 'unavailable') req.log.error({ err }, 'request failed');
    return sendError(reply, cubby);
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(
      reply,
      new CubbyError('API_UNKNOWN_OPERATION', `No Lambda MicroVMs operation is ${req.method} ${splitTarget(req.url).rawPath}.`),
    ),
  );

  const deps: RouteDeps = {
    core: opts.core,
    arns,
    endpointFor: opts.endpointFor,
    addresses: opts.addresses ?? DEFAULT_ADDRESS_POLICY,
    context(req) {
      const ctx = contexts.get(req);
      if (!ctx) throw new CubbyError('CUBBY_INTERNAL', 'request reached a handler without authentication');
      return ctx;
    },
  };
  registerImageRoutes(app, deps);
  registerImageVersionRoutes(app, deps);
  registerImageBuildRoutes(app, deps);
  registerManagedImageRoutes(app, deps);
  registerMicrovmRoutes(app, deps);
  registerTokenRoutes(app, deps);
  registerTagRoutes(app, deps);
  registerCubbyUsageRoutes(app, deps);
  registerRoleRoutes(app, deps);
  registerCubbyExtensionRoutes(app, deps, {
    ...(opts.artifactsDir !== undefined ? { artifactsDir: opts.artifactsDir } : {}),
    maxArtifactBytes: opts.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES,
  });
  return app;
}
