/** Per-tenant quota overrides (one row per tenant and quota) and the usage counts quotas need. */
import type { MicrovmState } from '../../core/model.js';
import { QUOTA_NAMES, type QuotaName, type QuotaOverrides } from '../../core/quotas/types.js';
import { CubbyError } from '../../errors/index.js';
import type { Ctx, SyncOps } from './context.js';
import { marks } from './context.js';

type QuotaOps = Pick<SyncOps, 'getQuotaOverrides' | 'setQuotaOverrides' | 'clearQuotaOverrides' | 'countMicrovmsByVersion'>;

export function quotaOps(ctx: Ctx): QuotaOps {
  const get = (tenantId: string): QuotaOverrides => {
    const out: QuotaOverrides = {};
    for (const r of ctx.q('SELECT quota, value FROM tenant_quotas WHERE tenant_id = ?').all(tenantId)) {
      if ((QUOTA_NAMES as readonly string[]).includes(r.quota as string)) out[r.quota as QuotaName] = Number(r.value);
    }
    return out;
  };
  return {
    getQuotaOverrides: get,
    setQuotaOverrides(tenantId, patch) {
      return ctx.write(() => {
        if (!ctx.q('SELECT 1 AS x FROM tenants WHERE id = ?').get(tenantId)) throw new CubbyError('TENANT_NOT_FOUND', `tenant ${tenantId} not found`);
        for (const [quota, value] of Object.entries(patch)) {
          if (value === undefined) continue;
          if (value === null) ctx.q('DELETE FROM tenant_quotas WHERE tenant_id = ? AND quota = ?').run(tenantId, quota);
          else {
            ctx.q(`INSERT INTO tenant_quotas (tenant_id, quota, value) VALUES (?, ?, ?)
              ON CONFLICT (tenant_id, quota) DO UPDATE SET value = excluded.value`).run(tenantId, quota, value);
          }
        }
        return get(tenantId);
      });
    },
    clearQuotaOverrides(tenantId) {
      ctx.write(() => ctx.q('DELETE FROM tenant_quotas WHERE tenant_id = ?').run(tenantId));
    },
    countMicrovmsByVersion(tenantId, states: MicrovmState[]) {
      if (states.length === 0) return [];
      const rows = ctx.q(`SELECT image_id, image_version, state, count(*) AS n FROM microvms
        WHERE tenant_id = ? AND state IN (${marks(states.length)})
        GROUP BY image_id, image_version, state ORDER BY image_id, image_version, state`).all(tenantId, ...states);
      return rows.map((r) => ({ imageId: r.image_id as string, version: r.image_version as string, state: r.state as MicrovmState, count: Number(r.n) }));
    },
  };
}
