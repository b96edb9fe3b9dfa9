/**
 * Tenants and their access keys. Random ids, account ids and key ids collide astronomically
 * rarely: a collision fails the column's unique constraint (STORE_CONFLICT).
 */
import type { Tenant } from '../../core/model.js';
import type { AccessKeyInfo, StoreOps } from '../../core/ports/store.js';
import { CubbyError } from '../../errors/index.js';
import { fromRow, insertSql, type Row, toColumns } from '../codec.js';
import { newAccessKeyId, newAccountId, newSecretAccessKey, newTenantId } from '../ids.js';
import { checkTenantName, keyNotFound, tenantNotFound } from '../not-found.js';
import { ACCESS_KEY, TENANT } from '../records.js';
import { checkThenWrite, type SqlCtx } from './context.js';

type TenantOps = Pick<
  StoreOps,
  | 'createTenant'
  | 'getTenant'
  | 'getTenantByName'
  | 'getTenantByAccountId'
  | 'listTenants'
  | 'createKey'
  | 'getKeyForAuth'
  | 'listKeys'
  | 'revokeKey'
>;

export function tenantOps(ctx: SqlCtx): TenantOps {
  const tenant = (r: Row | undefined): Tenant | undefined => (r ? fromRow(TENANT, r) : undefined);
  const key = (r: Row): AccessKeyInfo => fromRow(ACCESS_KEY, r);

  return {
    async createTenant(name) {
      checkTenantName(name);
      return checkThenWrite(ctx, async () => {
        // A name taken by a racing writer after this check is a unique violation: TENANT_EXISTS too.
        if (await ctx.get('SELECT 1 FROM tenants WHERE name = ?', [name])) {
          throw new CubbyError('TENANT_EXISTS', `tenant ${name} already exists`, { details: { name } });
        }
        const t: Tenant = { id: newTenantId(), name, accountId: newAccountId(), createdAt: ctx.now() };
        const { columns, values } = toColumns(TENANT, t);
        await ctx.run(insertSql('tenants', columns), values);
        return t;
      });
    },
    getTenant: async (id) => tenant(await ctx.get('SELECT * FROM tenants WHERE id = ?', [id])),
    getTenantByName: async (name) => tenant(await ctx.get('SELECT * FROM tenants WHERE name = ?', [name])),
    getTenantByAccountId: async (accountId) => tenant(await ctx.get('SELECT * FROM tenants WHERE account_id = ?', [accountId])),
    listTenants: async () => (await ctx.all('SELECT * FROM tenants ORDER BY seq')).map((r) => fromRow(TENANT, r)),

    async createKey(tenantId) {
      const box = ctx.secrets();
      // Tenants are never deleted, so the check cannot go stale before the insert.
      if (!(await ctx.get('SELECT 1 FROM tenants WHERE id = ?', [tenantId]))) throw tenantNotFound(tenantId);
      const info: AccessKeyInfo = { accessKeyId: newAccessKeyId(), tenantId, status: 'ACTIVE', createdAt: ctx.now() };
      const secretAccessKey = newSecretAccessKey();
      const { columns, values } = toColumns(ACCESS_KEY, info, { secret_sealed: box.seal(secretAccessKey, info.accessKeyId) });
      await ctx.run(insertSql('access_keys', columns), values);
      return { ...info, secretAccessKey };
    },
    async getKeyForAuth(accessKeyId) {
      const r = await ctx.get(
        `SELECT k.*, t.name AS t_name, t.account_id AS t_account_id, t.created_at AS t_created_at
        FROM access_keys k JOIN tenants t ON t.id = k.tenant_id
        WHERE k.access_key_id = ? AND k.status = 'ACTIVE'`,
        [accessKeyId],
      );
      if (!r) return undefined;
      const info = key(r);
      const t = fromRow(TENANT, { id: r.tenant_id, name: r.t_name, account_id: r.t_account_id, created_at: r.t_created_at });
      return { key: info, tenant: t, secret: ctx.secrets().open(r.secret_sealed as string, info.accessKeyId) };
    },
    listKeys: async (tenantId) => (await ctx.all('SELECT * FROM access_keys WHERE tenant_id = ? ORDER BY seq', [tenantId])).map(key),
    async revokeKey(accessKeyId, tenantId) {
      // One statement; COALESCE keeps the first revokedAt when the key was already revoked.
      const scoped = tenantId === undefined ? '' : ' AND tenant_id = ?';
      const r = await ctx.get(
        `UPDATE access_keys SET status = 'REVOKED', revoked_at = COALESCE(revoked_at, ?)
        WHERE access_key_id = ?${scoped} RETURNING *`,
        [ctx.now().getTime(), accessKeyId, ...(tenantId === undefined ? [] : [tenantId])],
      );
      if (!r) throw keyNotFound(accessKeyId);
      return key(r);
    },
  };
}
