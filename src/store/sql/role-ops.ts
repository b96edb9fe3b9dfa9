/**
 * Execution roles and secrets (issue 16). A secret's value is sealed with the master key, bound
 * (as authenticated data) to its tenant, name and version, so a sealed value copied onto another
 * row or version does not open. Only the current version is kept: a rotation replaces the value.
 */
import type { StoreOps } from '../../core/ports/store.js';
import type { Role, SecretInfo } from '../../core/roles/types.js';
import { CubbyError } from '../../errors/index.js';
import { codec, fromRow, insertSql, type Row, toColumns } from '../codec.js';
import { checkThenWrite, type SqlCtx } from './context.js';
import { requireTenant } from './key-rows.js';

type RoleOps = Pick<StoreOps, 'putSecret' | 'listSecrets' | 'getSecretValue' | 'createRole' | 'getRole' | 'listRoles' | 'deleteRole'>;

const SECRET = codec<SecretInfo>({
  tenantId: { column: 'tenant_id', type: 'text' },
  name: { column: 'name', type: 'text' },
  version: { column: 'version', type: 'int' },
  createdAt: { column: 'created_at', type: 'date' },
  updatedAt: { column: 'updated_at', type: 'date' },
});

const ROLE = codec<Role>({
  tenantId: { column: 'tenant_id', type: 'text' },
  name: { column: 'name', type: 'text' },
  secrets: { column: 'secrets', type: 'json' },
  permissions: { column: 'permissions', type: 'json' },
  launch: { column: 'launch', type: 'json', optional: true },
  createdAt: { column: 'created_at', type: 'date' },
});

/** The authenticated data of a secret's sealed value. */
export const secretAad = (tenantId: string, name: string, version: number): string => `secret:${tenantId}:${name}:${version}`;

export function roleOps(ctx: SqlCtx): RoleOps {
  const secret = (r: Row): SecretInfo => fromRow(SECRET, { ...r, version: Number(r.version) });
  const role = (r: Row): Role => fromRow(ROLE, r);
  return {
    async putSecret(tenantId, name, value) {
      const box = ctx.secrets();
      return ctx.write(async () => {
        await requireTenant(ctx, tenantId);
        const now = ctx.now();
        const old = await ctx.get(`SELECT * FROM secrets WHERE tenant_id = ? AND name = ?${ctx.dialect.lock.forUpdate}`, [tenantId, name]);
        if (old) {
          const version = Number(old.version) + 1;
          const r = await ctx.get(
            'UPDATE secrets SET version = ?, value_sealed = ?, updated_at = ? WHERE tenant_id = ? AND name = ? RETURNING *',
            [version, box.seal(value, secretAad(tenantId, name, version)), now.getTime(), tenantId, name],
          );
          return secret(r as Row);
        }
        const info: SecretInfo = { tenantId, name, version: 1, createdAt: now, updatedAt: now };
        const { columns, values } = toColumns(SECRET, info, { value_sealed: box.seal(value, secretAad(tenantId, name, 1)) });
        await ctx.run(insertSql('secrets', columns), values);
        return info;
      });
    },
    listSecrets: async (tenantId) => (await ctx.all('SELECT * FROM secrets WHERE tenant_id = ? ORDER BY seq', [tenantId])).map(secret),
    async getSecretValue(tenantId, name) {
      const r = await ctx.get('SELECT * FROM secrets WHERE tenant_id = ? AND name = ?', [tenantId, name]);
      if (!r) return undefined;
      const info = secret(r);
      return { info, value: ctx.secrets().open(r.value_sealed as string, secretAad(tenantId, name, info.version)) };
    },

    createRole(input) {
      return checkThenWrite(ctx, async () => {
        await requireTenant(ctx, input.tenantId);
        if (await ctx.get('SELECT 1 FROM roles WHERE tenant_id = ? AND name = ?', [input.tenantId, input.name])) {
          throw new CubbyError('ROLE_EXISTS', `role ${input.name} already exists`, { details: { name: input.name } });
        }
        for (const name of input.secrets) {
          if (!(await ctx.get('SELECT 1 FROM secrets WHERE tenant_id = ? AND name = ?', [input.tenantId, name]))) {
            throw new CubbyError('ROLE_INVALID', `role ${input.name} names secret '${name}', which does not exist (set it first)`, {
              details: { secret: name },
            });
          }
        }
        const r: Role = { ...input, createdAt: ctx.now() };
        const { columns, values } = toColumns(ROLE, r);
        await ctx.run(insertSql('roles', columns), values);
        return r;
      });
    },
    async getRole(tenantId, name) {
      const r = await ctx.get('SELECT * FROM roles WHERE tenant_id = ? AND name = ?', [tenantId, name]);
      return r ? role(r) : undefined;
    },
    listRoles: async (tenantId) => (await ctx.all('SELECT * FROM roles WHERE tenant_id = ? ORDER BY seq', [tenantId])).map(role),
    async deleteRole(tenantId, name) {
      const r = await ctx.get('DELETE FROM roles WHERE tenant_id = ? AND name = ? RETURNING *', [tenantId, name]);
      if (!r) throw new CubbyError('ROLE_NOT_FOUND', `role ${name} not found`, { details: { resourceType: 'Role', resourceId: name } });
      return role(r);
    },
  };
}
