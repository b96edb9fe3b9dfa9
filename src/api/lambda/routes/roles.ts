/**
 * Secrets and execution roles, beside the Lambda API under /cubby/v1 (SigV4, tenant scoping and
 * errors as for every route; a microVM's session credentials never reach these):
 *   PUT    /cubby/v1/secrets/{name}  {"value": "..."}  -> {name, version, createdAt, updatedAt}
 *   GET    /cubby/v1/secrets                           -> {secrets: [...]}   (never values)
 *   POST   /cubby/v1/roles  {name, secrets?, permissions?, launch?: {images, maxChildren}} -> 201 role
 *   GET    /cubby/v1/roles                             -> {roles: [...]}
 *   GET    /cubby/v1/roles/{name}                      -> role
 *   DELETE /cubby/v1/roles/{name}                      -> role
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Role, SecretInfo } from '../../../core/roles/types.js';
import { ROLE_PERMISSIONS } from '../../../core/roles/types.js';
import { CubbyError } from '../../../errors/index.js';
import { epochSeconds } from '../mapping/time.js';
import { roleArn } from '../mapping/roles.js';
import { Empty } from '../schemas/images.js';
import { parseInput } from '../validate.js';
import { bodyOf, type RouteDeps } from './deps.js';

const BASE = '/cubby/v1';

const NamePath = z.strictObject({ name: z.string().min(1).max(128) });
const PutSecretBody = z.strictObject({ value: z.string() });
const CreateRoleBody = z.strictObject({
  name: z.string().min(1).max(64),
  secrets: z.array(z.string()).max(100).optional(),
  /** `none` alone (or nothing) grants no API access. */
  permissions: z
    .array(z.enum(['none', ...ROLE_PERMISSIONS]))
    .max(10)
    .optional(),
  launch: z.strictObject({ images: z.array(z.string()).max(100), maxChildren: z.int() }).optional(),
});

function secretToWire(s: SecretInfo) {
  return { name: s.name, version: s.version, createdAt: epochSeconds(s.createdAt), updatedAt: epochSeconds(s.updatedAt) };
}

function roleToWire(r: Role, accountId: string) {
  return {
    name: r.name,
    arn: roleArn(accountId, r.name),
    secrets: r.secrets,
    permissions: r.permissions.length ? r.permissions : ['none'],
    ...(r.launch ? { launch: r.launch } : {}),
    createdAt: epochSeconds(r.createdAt),
  };
}

export function registerRoleRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { core } = deps;

  app.put(`${BASE}/secrets/:name`, async (req) => {
    const { caller } = deps.context(req);
    const { name } = parseInput(NamePath, req.params, 'path');
    const { value } = parseInput(PutSecretBody, bodyOf(req), 'body');
    return secretToWire(await core.roles.putSecret(caller, name, value));
  });

  app.get(`${BASE}/secrets`, async (req) => {
    const { caller } = deps.context(req);
    return { secrets: (await core.roles.listSecrets(caller)).map(secretToWire) };
  });

  app.post(`${BASE}/roles`, async (req, reply) => {
    const { caller } = deps.context(req);
    const body = parseInput(CreateRoleBody, bodyOf(req), 'body');
    if (body.permissions?.includes('none') && body.permissions.length > 1) {
      throw new CubbyError('ROLE_INVALID', "permission 'none' cannot be combined with others");
    }
    const permissions = (body.permissions ?? []).filter((p): p is (typeof ROLE_PERMISSIONS)[number] => p !== 'none');
    const role = await core.roles.createRole(caller, {
      name: body.name,
      secrets: body.secrets ?? [],
      permissions,
      ...(body.launch ? { launch: body.launch } : {}),
    });
    reply.code(201);
    return roleToWire(role, caller.tenant.accountId);
  });

  app.get(`${BASE}/roles`, async (req) => {
    const { caller } = deps.context(req);
    return { roles: (await core.roles.listRoles(caller)).map((r) => roleToWire(r, caller.tenant.accountId)) };
  });

  app.get(`${BASE}/roles/:name`, async (req) => {
    const { caller } = deps.context(req);
    const { name } = parseInput(NamePath, req.params, 'path');
    return roleToWire(await core.roles.getRole(caller, name), caller.tenant.accountId);
  });

  app.delete(`${BASE}/roles/:name`, async (req) => {
    const { caller } = deps.context(req);
    const { name } = parseInput(NamePath, req.params, 'path');
    parseInput(Empty, bodyOf(req), 'body');
    return roleToWire(await core.roles.deleteRole(caller, name), caller.tenant.accountId);
  });
}
