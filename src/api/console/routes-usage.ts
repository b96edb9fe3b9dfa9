/**
 * Usage per tenant and per microVM: the report over a window, and the same split into hourly
 * buckets so the page can chart RUNNING/SUSPENDED time, cost and checkpoint bytes over time.
 */
import type { FastifyInstance } from 'fastify';
import { publicRoute } from '../route-auth.js';
import { handle, requireSession } from './http.js';
import type { ConsoleOptions } from './options.js';
import { callersFor } from './scope.js';

const HOUR = 3600_000;

export function registerUsageRoutes(app: FastifyInstance, o: ConsoleOptions): void {
  app.get(
    '/console/api/usage',
    publicRoute,
    handle(async (req) => {
      const s = requireSession(req, o.sessions);
      const q = req.query as Record<string, string | undefined>;
      const hours = Math.min(Math.max(Number(q.hours) || 24, 1), 168);
      const end = Math.ceil(Date.now() / HOUR) * HOUR;
      const tenants = [];
      for (const caller of await callersFor(req, s, o)) {
        const report = await o.core.usage.report(caller, { from: new Date(end - hours * HOUR) });
        const series = [];
        for (let i = hours; i > 0; i--) {
          const from = new Date(end - i * HOUR);
          const r = await o.core.usage.report(caller, { from, to: new Date(Math.min(from.getTime() + HOUR, Date.now())) });
          series.push({
            at: from.toISOString(),
            runningSeconds: r.totals.runningSeconds,
            suspendedSeconds: r.totals.suspendedSeconds,
            cost: r.totals.cost.total,
            checkpointBytes: r.microvms.reduce((n, m) => n + (m.suspendedSeconds > 0 ? m.billedSnapshotBytes : 0), 0),
          });
          if (from.getTime() + HOUR > Date.now()) break;
        }
        tenants.push({ tenantId: caller.tenant.id, tenant: caller.tenant.name, report, series });
      }
      return { hours, tenants };
    }),
  );
}
