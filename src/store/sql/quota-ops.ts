/** Per-tenant quota overrides (one row per tenant and quota) and the usage counts quotas need. */
import type { MicrovmState } from '../../core/model.js';
import type { StoreOps } from '../../core/ports/store.js';
import { QUOTA_NAMES, type QuotaName, type QuotaOverrides } from '../../core/quotas/types.js';
import { tenantNotFound } from '../not-found.js';
import type { SqlCtx } from './context.js';

type QuotaOps = Pick<StoreOps, 'getQuotaOverrides' | 'setQuotaOverrides' | 'clearQuotaOverrides' | 'countMicrovmsByVersion'>;

export function quotaOps(ctx: SqlCtx): QuotaOps {
  const get = async (tenantId: string): Promise<QuotaOverrides> => {
    const out: QuotaOverrides = {};
    for (const r of await ctx.all('SELECT quota, value FROM tenant_quotas WHERE tenant_id = ?', [tenantId])) {
      if ((QUOTA_NAMES as readonly string[]).includes(r.quota as string)) out[r.quota as QuotaName] = Number(r.value);
    }
    return out;
  };
  return {
    getQuotaOverrides: get,
    async setQuotaOverrides(tenantId, patch) {
      return ctx.write(async () => {
        if (!(await ctx.get('SELECT 1 FROM tenants WHERE id = ?', [tenantId]))) throw tenantNotFound(tenantId);
        for (const [quota, value] of Object.entries(patch)) {
          if (value === undefined) continue;
          if (value === null) await ctx.run('DELETE FROM tenant_quotas WHERE tenant_id = ? AND quota = ?', [tenantId, quota]);
          else {
            await ctx.run(
              `INSERT INTO tenant_quotas (tenant_id, quota, value) VALUES (?, ?, ?)
              ON CONFLICT (tenant_id, quota) DO UPDATE SET value = excluded.value`,
              [tenantId, quota, value],
            );
          }
        }
        return get(tenantId);
      });
    },
    async clearQuotaOverrides(tenantId) {
      await ctx.run('DELETE FROM tenant_quotas WHERE tenant_id = ?', [tenantId]);
    },
    async countMicrovmsByVersion(tenantId, states: MicrovmState[]) {
      if (states.length === 0) return [];
      const inState = ctx.dialect.inList('state', states);
      const rows = await ctx.all(
        `SELECT image_id, image_version, state, count(*) AS n FROM microvms
        WHERE tenant_id = ? AND ${inState.sql}
        GROUP BY image_id, image_version, state ORDER BY image_id, image_version, state`,
        [tenantId, ...inState.params],
      );
      return rows.map((r) => ({
        imageId: r.image_id as string,
        version: r.image_version as string,
        state: r.state as MicrovmState,
        count: Number(r.n),
      }));
    },
  };
}
