/** Tenants and their access keys. */
import type { Tenant } from '../../core/model.js';
import type { AccessKeyInfo } from '../../core/ports/store.js';
import { CubbyError } from '../../errors/index.js';
import { newAccessKeyId, newAccountId, newSecretAccessKey, newTenantId } from '../ids.js';
import { fromRow, insertSql, type Row, toColumns } from '../codec.js';
import { checkTenantName, keyNotFound, tenantNotFound } from '../not-found.js';
import type { Ctx, SyncOps } from './context.js';
import { ACCESS_KEY, TENANT } from '../records.js';

type TenantOps = Pick<SyncOps, 'createTenant' | 'getTenant' | 'getTenantByName' | 'getTenantByAccountId' | 'listTenants'
  | 'createKey' | 'getKeyForAuth' | 'listKeys' | 'revokeKey'>;

export function tenantOps(ctx: Ctx): TenantOps {
  const tenant = (r: Row | undefined): Tenant | undefined => (r ? fromRow(TENANT, r) : undefined);
  const key = (r: Row): AccessKeyInfo => fromRow(ACCESS_KEY, r);
  const exists = (sql: string, ...args: unknown[]): boolean => ctx.q(sql).get(...args) !== undefined;

  /** Retries a random value until it is unused; collisions are astronomically rare, so a bound is enough. */
  function unused(make: () => string, taken: (v: string) => boolean): string {
    for (let i = 0; i < 20; i++) {
      const v = make();
      if (!taken(v)) return v;
    }
    throw new CubbyError('STORE_CONFLICT', 'could not draw an unused identifier');
  }

  return {
    createTenant(name) {
      checkTenantName(name);
      return ctx.write(() => {
        if (exists('SELECT 1 FROM tenants WHERE name = ?', name)) {
          throw new CubbyError('TENANT_EXISTS', `tenant ${name} already exists`, { details: { name } });
        }
        const t: Tenant = {
          id: unused(newTenantId, (v) => exists('SELECT 1 FROM tenants WHERE id = ?', v)),
          name,
          accountId: unused(newAccountId, (v) => exists('SELECT 1 FROM tenants WHERE account_id = ?', v)),
          createdAt: ctx.now(),
        };
        const { columns, values } = toColumns(TENANT, t);
        ctx.q(insertSql('tenants', columns)).run(...values);
        return t;
      });
    },
    getTenant: (id) => tenant(ctx.q('SELECT * FROM tenants WHERE id = ?').get(id)),
    getTenantByName: (name) => tenant(ctx.q('SELECT * FROM tenants WHERE name = ?').get(name)),
    getTenantByAccountId: (accountId) => tenant(ctx.q('SELECT * FROM tenants WHERE account_id = ?').get(accountId)),
    listTenants: () => ctx.q('SELECT * FROM tenants ORDER BY seq').all().map((r) => fromRow(TENANT, r)),

    createKey(tenantId) {
      const box = ctx.secrets();
      return ctx.write(() => {
        if (!exists('SELECT 1 FROM tenants WHERE id = ?', tenantId)) {
          throw tenantNotFound(tenantId);
        }
        const info: AccessKeyInfo = {
          accessKeyId: unused(newAccessKeyId, (v) => exists('SELECT 1 FROM access_keys WHERE access_key_id = ?', v)),
          tenantId,
          status: 'ACTIVE',
          createdAt: ctx.now(),
        };
        const secretAccessKey = newSecretAccessKey();
        const { columns, values } = toColumns(ACCESS_KEY, info, { secret_sealed: box.seal(secretAccessKey, info.accessKeyId) });
        ctx.q(insertSql('access_keys', columns)).run(...values);
        return { ...info, secretAccessKey };
      });
    },
    getKeyForAuth(accessKeyId) {
      const r = ctx.q(`SELECT k.*, t.name AS t_name, t.account_id AS t_account_id, t.created_at AS t_created_at
        FROM access_keys k JOIN tenants t ON t.id = k.tenant_id
        WHERE k.access_key_id = ? AND k.status = 'ACTIVE'`).get(accessKeyId);
      if (!r) return undefined;
      const info = key(r);
      const t = fromRow(TENANT, { id: r.tenant_id, name: r.t_name, account_id: r.t_account_id, created_at: r.t_created_at });
      return { key: info, tenant: t, secret: ctx.secrets().open(r.secret_sealed as string, info.accessKeyId) };
    },
    listKeys: (tenantId) =>
      ctx.q('SELECT * FROM access_keys WHERE tenant_id = ? ORDER BY seq').all(tenantId).map(key),
    revokeKey(accessKeyId, tenantId) {
      return ctx.write(() => {
        const r = ctx.q('SELECT * FROM access_keys WHERE access_key_id = ?').get(accessKeyId);
        if (!r || (tenantId !== undefined && r.tenant_id !== tenantId)) {
          throw keyNotFound(accessKeyId);
        }
        if (r.status === 'REVOKED') return key(r);
        return key(ctx.q(`UPDATE access_keys SET status = 'REVOKED', revoked_at = ? WHERE access_key_id = ? RETURNING *`)
          .get(ctx.now().getTime(), accessKeyId) as Row);
      });
    },
  };
}
