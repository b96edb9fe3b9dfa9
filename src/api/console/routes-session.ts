/** Sign-in (access key pair, E2B key, or the operator's one-time link), the session, sign-out. */
import type { FastifyInstance } from 'fastify';
import { CubbyError } from '../../errors/index.js';
import { publicRoute } from '../route-auth.js';
import { handle, jsonBody, readCookie, requireChange, requireSameOrigin, requireSession, sessionCookie, COOKIE } from './http.js';
import type { ConsoleOptions } from './options.js';
import { sameSecret, type ConsoleSession, type Principal } from './sessions.js';

const FAILED = 'Sign-in failed: check the key pair, the E2B key or the link (links work once, for 10 minutes).';

export function sessionView(s: ConsoleSession) {
  const p = s.principal;
  return {
    csrf: s.csrf,
    expiresAt: new Date(s.expiresAt).toISOString(),
    principal: p.kind === 'operator' ? { kind: 'operator' } : { kind: 'tenant', tenantId: p.tenant.id, tenant: p.tenant.name, via: p.via },
  };
}

async function principalFor(o: ConsoleOptions, body: Record<string, unknown>): Promise<Principal | undefined> {
  const { accessKeyId, secretAccessKey, e2bApiKey, login } = body;
  if (typeof accessKeyId === 'string' && typeof secretAccessKey === 'string' && accessKeyId && secretAccessKey) {
    const k = await o.store.getKeyForAuth(accessKeyId);
    if (k && k.key.status === 'ACTIVE' && sameSecret(k.secret, secretAccessKey))
      return { kind: 'tenant', tenant: k.tenant, via: 'access-key', keyId: accessKeyId };
    return undefined;
  }
  if (typeof e2bApiKey === 'string' && e2bApiKey) {
    const k = await o.store.getE2bKeyForAuth(e2bApiKey);
    if (k && k.key.status === 'ACTIVE') return { kind: 'tenant', tenant: k.tenant, via: 'e2b-key', keyId: k.key.keyId };
    return undefined;
  }
  if (typeof login === 'string' && login) return (await o.consumeOperatorLogin(login)) ? { kind: 'operator' } : undefined;
  return undefined;
}

export function registerSessionRoutes(app: FastifyInstance, o: ConsoleOptions): void {
  app.post(
    '/console/api/session',
    publicRoute,
    handle(async (req, reply) => {
      // A sign-in form posted from another site would sign the victim in as the attacker.
      requireSameOrigin(req, o.secure);
      const principal = await principalFor(o, jsonBody(req));
      if (!principal) throw new CubbyError('CONSOLE_SIGNIN_FAILED', FAILED);
      const old = readCookie(req, COOKIE);
      if (old) o.sessions.expire(old);
      const s = o.sessions.create(principal);
      reply.header('set-cookie', sessionCookie(s.id, o.sessions.ttlSeconds, o.secure));
      return sessionView(s);
    }),
  );
  app.get(
    '/console/api/session',
    publicRoute,
    handle(async (req) => sessionView(requireSession(req, o.sessions))),
  );
  app.delete(
    '/console/api/session',
    publicRoute,
    handle(async (req, reply) => {
      const s = requireChange(req, o.sessions, o.secure);
      o.sessions.expire(s.id);
      reply.header('set-cookie', sessionCookie('', 0, o.secure));
      return {};
    }),
  );
}
