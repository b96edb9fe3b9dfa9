/** Statements access keys and E2B API keys share: the tenant check, the lookup for auth, revoking. */
import type { Tenant } from '../../core/model.js';
import { fromRow, type Row } from '../codec.js';
import { tenantNotFound } from '../not-found.js';
import { TENANT } from '../records.js';
import type { SqlCtx } from './context.js';

/** Throws TENANT_NOT_FOUND unless the tenant exists (tenants are never deleted, so this cannot go stale). */
export async function requireTenant(ctx: SqlCtx, tenantId: string): Promise<void> {
  if (!(await ctx.get('SELECT 1 FROM tenants WHERE id = ?', [tenantId]))) throw tenantNotFound(tenantId);
}

/** The ACTIVE key of `table` whose `column` is `value`, with its tenant; undefined when there is none. */
export async function activeKeyWithTenant(
  ctx: SqlCtx,
  table: 'access_keys' | 'e2b_api_keys',
  column: string,
  value: string,
): Promise<{ row: Row; tenant: Tenant } | undefined> {
  const r = await ctx.get(
    `SELECT k.*, t.name AS t_name, t.account_id AS t_account_id, t.created_at AS t_created_at
    FROM ${table} k JOIN tenants t ON t.id = k.tenant_id
    WHERE k.${column} = ? AND k.status = 'ACTIVE'`,
    [value],
  );
  if (!r) return undefined;
  return { row: r, tenant: fromRow(TENANT, { id: r.tenant_id, name: r.t_name, account_id: r.t_account_id, created_at: r.t_created_at }) };
}

/**
 * Revokes the key of `table` whose `column` is `keyId` (of `tenantId` when given) in one
 * statement; COALESCE keeps the first revokedAt when it was already revoked. The row, or
 * undefined when there is no such key.
 */
export function revokeKeyRow(
  ctx: SqlCtx,
  table: 'access_keys' | 'e2b_api_keys',
  column: string,
  keyId: string,
  tenantId: string | undefined,
): Promise<Row | undefined> {
  const scoped = tenantId === undefined ? '' : ' AND tenant_id = ?';
  return ctx.get(
    `UPDATE ${table} SET status = 'REVOKED', revoked_at = COALESCE(revoked_at, ?)
    WHERE ${column} = ?${scoped} RETURNING *`,
    [ctx.now().getTime(), keyId, ...(tenantId === undefined ? [] : [tenantId])],
  );
}
