/**
 * Each tenant's quotas on /metrics: cubby_tenant_quota_limit and cubby_tenant_quota_used
 * {tenant, quota}, read from the quota service at scrape time (cached briefly: it reads the disk).
 */
import { Gauge, type Registry } from 'prom-client';
import type { Store } from '../core/ports/store.js';
import type { QuotaService } from '../core/quotas/service.js';
import { QUOTA_INFO, type QuotaStatus } from '../core/quotas/types.js';

const CACHE_MS = 1_000;

export function meterQuotas(registry: Registry, store: Store, quotas: QuotaService): void {
  let cached: { at: number; rows: Promise<Array<{ tenant: string; quotas: QuotaStatus[] }>> } | undefined;
  const rows = () => {
    if (!cached || Date.now() - cached.at > CACHE_MS) {
      const at = Date.now();
      const p = (async () =>
        Promise.all((await store.listTenants()).map(async (t) => ({ tenant: t.name, quotas: await quotas.status(t.id) }))))();
      p.catch(() => {
        if (cached?.at === at) cached = undefined;
      });
      cached = { at, rows: p };
    }
    return cached.rows;
  };
  const gauge = (name: string, help: string, pick: (q: QuotaStatus) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['tenant', 'quota'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const r of await rows()) for (const q of r.quotas) this.set({ tenant: r.tenant, quota: QUOTA_INFO[q.name].metric }, pick(q));
      },
    });
  };
  gauge('cubby_tenant_quota_limit', "A tenant's quota limit (counts, MiB or bytes as the quota label says)", (q) => q.limit);
  gauge('cubby_tenant_quota_used', 'What a tenant uses now of a quota', (q) => q.used);
}
