/** The operator's pages: tenants and their keys (create, revoke), host capacity and health. */
import type { FastifyInstance } from 'fastify';
import { CubbyError } from '../../errors/index.js';
import { publicRoute } from '../route-auth.js';
import { handle, param, requireChange, requireSession } from './http.js';
import type { ConsoleOptions } from './options.js';
import { requireOperator } from './scope.js';

export function registerOperatorRoutes(app: FastifyInstance, o: ConsoleOptions): void {
  app.get(
    '/console/api/tenants',
    publicRoute,
    handle(async (req) => {
      requireOperator(requireSession(req, o.sessions));
      const items = [];
      for (const t of await o.store.listTenants()) {
        const keys = await o.store.listKeys(t.id);
        items.push({
          id: t.id,
          name: t.name,
          accountId: t.accountId,
          createdAt: t.createdAt,
          keys: keys.map((k) => ({ accessKeyId: k.accessKeyId, status: k.status, createdAt: k.createdAt, revokedAt: k.revokedAt ?? null })),
        });
      }
      return { items };
    }),
  );

  app.post(
    '/console/api/tenants/:tenant/keys',
    publicRoute,
    handle(async (req, reply) => {
      requireOperator(requireChange(req, o.sessions, o.secure));
      const tenant = await o.store.getTenant(param(req, 'tenant'));
      if (!tenant) throw new CubbyError('TENANT_NOT_FOUND', `no tenant ${param(req, 'tenant')}`);
      const k = await o.store.createKey(tenant.id);
      reply.code(201);
      return { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
    }),
  );

  app.post(
    '/console/api/keys/:key/revoke',
    publicRoute,
    handle(async (req) => {
      requireOperator(requireChange(req, o.sessions, o.secure));
      const k = await o.store.revokeKey(param(req, 'key'));
      o.sessions.expireKey(k.accessKeyId);
      return { accessKeyId: k.accessKeyId, status: k.status, revokedAt: k.revokedAt ?? null };
    }),
  );

  app.get(
    '/console/api/host',
    publicRoute,
    handle(async (req) => {
      requireOperator(requireSession(req, o.sessions));
      return o.host();
    }),
  );
}
