/** Create, get, list and kill: POST /v2/sandboxes (and v1 POST /sandboxes), GET, GET /v2/sandboxes, DELETE. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IdlePolicy, Microvm } from '../../../core/model.js';
import type { EgressPolicy } from '../../../core/ports/network.js';
import { isSet, jsonObject, optBool, optObject, optSeconds, optString, optStringMap, unsupported } from '../body.js';
import { parseListQuery, selectPage, type Candidate } from '../list-query.js';
import { DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS } from '../options.js';
import { E2B_TOKEN_AAD, e2bFactsOf, newSandboxToken, type E2bFacts } from '../sandbox-access.js';
import { resolveTemplate } from '../templates.js';
import { detailWire, e2bStateOf, listedWire, sandboxWire, SizeCache } from '../wire.js';
import { liveSandbox, paramId, sandboxNotFound, type E2bDeps } from './deps.js';
import { CubbyError, isCubbyError } from '../../../errors/index.js';

/** Paused sandboxes are kept this long (E2B keeps them until killed; Cubby bounds it). */
const PAUSED_KEEP_SECONDS = 30 * 86_400;

export function registerSandboxRoutes(app: FastifyInstance, d: E2bDeps, route: object): void {
  const { core } = d.opts;

  const create = async (req: FastifyRequest): Promise<{ m: Microvm; facts: E2bFacts }> => {
    const caller = d.caller(req);
    const body = jsonObject(req);
    const templateID = optString(body, 'templateID');
    if (!templateID) throw new CubbyError('CUBBY_VALIDATION', 'templateID is required');
    const timeout = optSeconds(body, 'timeout', 1, MAX_TIMEOUT_SECONDS) ?? DEFAULT_TIMEOUT_SECONDS;
    const metadata = optStringMap(body, 'metadata') ?? {};
    const envVars = optStringMap(body, 'envVars') ?? {};
    const allowInternetAccess = optBool(body, 'allow_internet_access');
    const network = optObject(body, 'network') ?? {};
    const allowPublicTraffic = optBool(network, 'allowPublicTraffic') ?? true;
    for (const k of ['allowOut', 'denyOut', 'rules', 'egressProxy', 'maskRequestHost']) {
      if (isSet(network[k])) throw unsupported(`network.${k}`);
    }
    const autoPause = optBool(body, 'autoPause') ?? false;
    if (optBool(body, 'autoPauseMemory') === false) {
      throw unsupported('autoPauseMemory false (a filesystem-only pause; Cubby always snapshots memory and filesystem together)');
    }
    const autoResume = optBool(optObject(body, 'autoResume') ?? {}, 'enabled') ?? false;
    if (autoResume && !autoPause) throw new CubbyError('CUBBY_VALIDATION', 'autoResume needs autoPause (onTimeout pause)');
    for (const k of ['mcp', 'volumeMounts', 'iam']) if (isSet(body[k])) throw unsupported(k);

    // Nothing is recorded for an unknown template: it is resolved before the launch.
    const imageName = await resolveTemplate(core, caller, templateID, d.opts.ensureBaseTemplate);
    const seal = (s: string) => d.opts.sealSecret(s, E2B_TOKEN_AAD);
    const facts: E2bFacts = {
      templateID,
      imageName,
      metadata,
      envdAccessTokenSealed: seal(newSandboxToken()),
      ...(allowPublicTraffic ? {} : { trafficAccessTokenSealed: seal(newSandboxToken()) }),
      allowPublicTraffic,
      ...(allowInternetAccess !== undefined ? { allowInternetAccess } : {}),
      lifecycle: { onTimeout: autoPause ? 'pause' : 'kill', autoResume },
    };
    const egress: EgressPolicy | undefined =
      allowInternetAccess === undefined ? undefined : allowInternetAccess ? { mode: 'internet' } : { mode: 'closed' };
    // Auto-resume is the gateway's idle-policy flag; the idle timer itself is left out of reach
    // (E2B pauses on its timeout, which is the renewable maximum duration below).
    const idlePolicy: IdlePolicy | undefined = autoResume
      ? { maxIdleDurationSeconds: PAUSED_KEEP_SECONDS, suspendedDurationSeconds: PAUSED_KEEP_SECONDS, autoResumeEnabled: true }
      : undefined;
    const m = await core.microvms.run(caller, {
      image: imageName,
      maximumDurationSeconds: timeout,
      onMaximumDuration: { action: autoPause ? 'suspend' : 'terminate', renewSeconds: timeout },
      ...(idlePolicy ? { idlePolicy } : {}),
      ...(egress ? { egress } : {}),
      runHookPayload: JSON.stringify({ envVars }),
      extra: { e2b: facts },
    });
    return { m, facts };
  };

  for (const path of ['/v2/sandboxes', '/sandboxes']) {
    app.post(path, route, async (req, reply) => {
      const { m, facts } = await create(req);
      return reply.code(201).send(sandboxWire(m, facts, d.opts.domain, d.opts.openSecret));
    });
  }

  app.get('/sandboxes/:sandboxID', route, async (req, reply) => {
    const caller = d.caller(req);
    const s = await liveSandbox(d, caller, paramId(req));
    const sizes = await new SizeCache(core, caller).of(s.m, s.f);
    return reply.send(detailWire(s.m, s.f, sizes, s.state, d.opts.domain, d.opts.openSecret));
  });

  app.get('/v2/sandboxes', route, async (req, reply) => {
    const caller = d.caller(req);
    const q = parseListQuery(req.query as Record<string, unknown>);
    const all: Candidate[] = [];
    let nextToken: string | undefined;
    do {
      const page = await core.microvms.list(caller, {
        maxResults: 100,
        states: ['PENDING', 'RUNNING', 'SUSPENDING', 'SUSPENDED'],
        ...(nextToken ? { nextToken } : {}),
      });
      for (const m of page.items) {
        const f = e2bFactsOf(m.extra);
        const state = e2bStateOf(m);
        if (f && state) all.push({ m, f, state });
      }
      nextToken = page.nextToken;
    } while (nextToken);
    const { page, nextToken: next } = selectPage(all, q, (c) => [c.f.templateID, c.f.imageName, c.m.imageId]);
    const sizes = new SizeCache(core, caller);
    const items = await Promise.all(page.map(async (c) => listedWire(c.m, c.f, await sizes.of(c.m, c.f), c.state)));
    if (next) reply.header('x-next-token', next);
    return reply.send(items);
  });

  app.delete('/sandboxes/:sandboxID', route, async (req, reply) => {
    const caller = d.caller(req);
    const id = paramId(req);
    await liveSandbox(d, caller, id);
    let m: Microvm;
    try {
      m = await core.microvms.terminate(caller, id);
    } catch (e) {
      if (isCubbyError(e) && e.kind === 'not_found') throw sandboxNotFound(id);
      throw e;
    }
    if (m.state !== 'TERMINATED') throw new CubbyError('MICROVM_BAD_STATE', `sandbox '${id}' is ${m.state}`);
    return reply.code(204).send();
  });
}
