/**
 * Tenants and their access keys. Random ids, account ids and key ids collide astronomically
 * rarely: a collision fails the column's unique constraint (STORE_CONFLICT).
 */
import type { Tenant } from '../../core/model.js';
import type { AccessKeyInfo, StoreOps } from '../../core/ports/store.js';
import { CubbyError } from '../../errors/index.js';
import { fromRow, insertSql, type Row, toColumns } from '../codec.js';
import { newAccessKeyId, newAccountId, newSecretAccessKey, newTenantId } from '../ids.js';
import { checkTenantName, keyNotFound } from '../not-found.js';
import { ACCESS_KEY, TENANT } from '../records.js';
import { checkThenWrite, type SqlCtx } from './context.js';
import { activeKeyWithTenant, requireTenant, revokeKeyRow } from './key-rows.js';

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
      await requireTenant(ctx, tenantId);
      const info: AccessKeyInfo = { accessKeyId: newAccessKeyId(), tenantId, status: 'ACTIVE', createdAt: ctx.now() };
      const secretAccessKey = newSecretAccessKey();
      const { columns, values } = toColumns(ACCESS_KEY, info, { secret_sealed: box.seal(secretAccessKey, info.accessKeyId) });
      await ctx.run(insertSql('access_keys', columns), values);
      return { ...info, secretAccessKey };
    },
    async getKeyForAuth(accessKeyId) {
      const found = await activeKeyWithTenant(ctx, 'access_keys', 'access_key_id', accessKeyId);
      if (!found) return undefined;
      const info = key(found.row);
      return { key: info, tenant: found.tenant, secret: ctx.secrets().open(found.row.secret_sealed as string, info.accessKeyId) };
    },
    listKeys: async (tenantId) => (await ctx.all('SELECT * FROM access_keys WHERE tenant_id = ? ORDER BY seq', [tenantId])).map(key),
    async revokeKey(accessKeyId, tenantId) {
      const r = await revokeKeyRow(ctx, 'access_keys', 'access_key_id', accessKeyId, tenantId);
      if (!r) throw keyNotFound(accessKeyId);
      return key(r);
    },
  };
}
