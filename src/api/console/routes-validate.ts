/**
 * `cubby validate` from the console: a run of the real validator against one SUCCESSFUL image
 * version, in the background (it launches and times real microVMs for a minute or more), its
 * progress and report followed by server-sent events, the last report kept per version.
 *
 * The validator is an API client: it calls the daemon's own listener signed with an access key of
 * the tenant (the one the session signed in with, else the tenant's oldest active key), so a run
 * can do no more than that tenant can through the API.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Tenant } from '../../core/model.js';
import { CubbyError } from '../../errors/index.js';
import { publicRoute } from '../route-auth.js';
import { handle, jsonBody, openEventStream, param, requireChange, requireSession, whole } from './http.js';
import type { ConsoleOptions } from './options.js';
import { callerFor } from './scope.js';
import type { ConsoleSession } from './sessions.js';
import { ConsoleValidations, type ValidationJob, type ValidationParams } from './validations.js';

const CHECK_IDS = ['build', 'latency', 'idle-cost', 'boundary', 'cleanup'];
const PATH = '/console/api/images/:name/versions/:version/validation';

function params(image: string, version: string, body: Record<string, unknown>): ValidationParams {
  const path = typeof body.path === 'string' && body.path ? body.path : '/';
  if (!/^\/[\x21-\x7e]{0,1023}$/.test(path)) throw new CubbyError('CUBBY_VALIDATION', 'path must start with "/" and have no spaces.');
  let only: string[] | undefined;
  if (body.only !== undefined) {
    if (!Array.isArray(body.only) || body.only.length === 0 || body.only.some((c) => typeof c !== 'string' || !CHECK_IDS.includes(c))) {
      throw new CubbyError('CUBBY_VALIDATION', `only must list some of the checks ${CHECK_IDS.join(', ')}.`);
    }
    only = body.only as string[];
  }
  return {
    image,
    version,
    launches: whole(body.launches, 3, 1, 10, 'launches'),
    port: whole(body.port, 8080, 1, 65535, 'port'),
    path,
    crashWaitSeconds: whole(body.crashWaitSeconds, 10, 1, 120, 'crashWaitSeconds'),
    ...(only ? { only } : {}),
  };
}

/** The key the run signs with: the session's own access key, else the tenant's oldest active one. */
async function signingKey(o: ConsoleOptions, s: ConsoleSession, tenant: Tenant): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const ids: string[] = [];
  if (s.principal.kind === 'tenant' && s.principal.via === 'access-key' && s.principal.keyId) ids.push(s.principal.keyId);
  for (const k of await o.store.listKeys(tenant.id)) if (k.status === 'ACTIVE') ids.push(k.accessKeyId);
  for (const id of ids) {
    const k = await o.store.getKeyForAuth(id);
    if (k && k.tenant.id === tenant.id && k.key.status === 'ACTIVE') return { accessKeyId: id, secretAccessKey: k.secret };
  }
  throw new CubbyError(
    'CONSOLE_VALIDATE_UNAVAILABLE',
    'The validator calls the Lambda MicroVMs API as the tenant and needs an active access key of the tenant: create one first.',
  );
}

/** The listener as reached from this host: the address and port this request arrived on. */
function ownApiUrl(req: FastifyRequest): string {
  const addr = req.socket.localAddress ?? '127.0.0.1';
  return `http://${addr.includes(':') ? `[${addr}]` : addr}:${req.socket.localPort}`;
}

export function validationView(j: ValidationJob | undefined): ValidationJob | { state: 'NONE' } {
  return j ?? { state: 'NONE' };
}

/** Returns what stops the running validations (terminating their microVMs) while the API still answers. */
export function registerValidateRoutes(app: FastifyInstance, o: ConsoleOptions): () => Promise<void> {
  const runs = new ConsoleValidations(o.validator);

  app.get(
    PATH,
    publicRoute,
    handle(async (req) => {
      const caller = await callerFor(req, requireSession(req, o.sessions), o);
      const name = param(req, 'name');
      const version = param(req, 'version');
      await o.core.images.getVersion(caller, name, version);
      return { available: runs.available && !o.secure, ...validationView(runs.get(caller.tenant.id, name, version)) };
    }),
  );

  app.post(
    PATH,
    publicRoute,
    handle(async (req, reply) => {
      const s = requireChange(req, o.sessions, o.secure);
      const caller = await callerFor(req, s, o);
      const name = param(req, 'name');
      const version = param(req, 'version');
      const v = await o.core.images.getVersion(caller, name, version);
      if (v.state !== 'SUCCESSFUL')
        throw new CubbyError('CUBBY_VALIDATION', `Version ${version} is ${v.state}; only a SUCCESSFUL version runs.`);
      // The validator's own clients (endpoint requests, shell) speak plain HTTP, like `cubby validate`.
      if (o.secure) {
        throw new CubbyError(
          'CONSOLE_VALIDATE_UNAVAILABLE',
          'The console runs the validator only on a plain-HTTP listener; run `./cubby validate`.',
        );
      }
      const p = params(name, version, jsonBody(req));
      const key = await signingKey(o, s, caller.tenant);
      const job = runs.start(caller.tenant.id, p, { apiUrl: ownApiUrl(req), ...key });
      reply.code(202);
      return validationView(job);
    }),
  );

  // The run as it goes: the whole job on every change, then `end` once it finished.
  app.get(`${PATH}/events`, publicRoute, async (req, reply) => {
    let tenantId: string;
    try {
      const caller = await callerFor(req, requireSession(req, o.sessions), o);
      await o.core.images.getVersion(caller, param(req, 'name'), param(req, 'version'));
      tenantId = caller.tenant.id;
    } catch (e) {
      return handle(() => Promise.reject(e))(req, reply);
    }
    const name = param(req, 'name');
    const version = param(req, 'version');
    const stream = openEventStream(req, reply);
    const send = (j: ValidationJob | undefined) => {
      stream.send('job', validationView(j));
      if (j && j.state !== 'RUNNING') stream.send('end', { state: j.state });
    };
    stream.onClose(runs.watch(tenantId, name, version, send));
    send(runs.get(tenantId, name, version));
  });
  return () => runs.stopAll();
}
