/**
 * Cubby's usage extension routes (SigV4-signed like the rest, tenant-scoped):
 *   GET /cubby/v1/usage?from=&to=&prices=    usage, totals and cost estimate of the caller's microVMs
 *   GET /cubby/v1/microvms/:id/stats         memory and CPU a RUNNING microVM uses on the host now
 * from/to are ISO 8601 times or epoch seconds; prices is "vcpuSecond=..,gibSecond=..,snapshotGibMonth=..,currency=..".
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parsePrices } from '../../../core/usage/prices.js';
import { MicrovmPath } from '../schemas/microvms.js';
import { parseInput } from '../validate.js';
import type { RouteDeps } from './deps.js';

const Time = z
  .string()
  .min(1)
  .max(64)
  .transform((s, ctx) => {
    const d = /^\d{1,12}(\.\d+)?$/.test(s) ? new Date(Number(s) * 1000) : new Date(s);
    if (Number.isNaN(d.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time or epoch seconds' });
      return z.NEVER;
    }
    return d;
  });

const UsageQuery = z.strictObject({
  from: Time.optional(),
  to: Time.optional(),
  prices: z.string().min(1).max(512).optional(),
});

export function registerCubbyUsageRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { core, arns } = deps;

  app.get('/cubby/v1/usage', async (req) => {
    const { caller, query } = deps.context(req);
    const q = parseInput(UsageQuery, query, 'query');
    return core.usage.report(caller, {
      ...(q.from ? { from: q.from } : {}),
      ...(q.to ? { to: q.to } : {}),
      ...(q.prices ? { prices: parsePrices(q.prices) } : {}),
    });
  });

  app.get('/cubby/v1/microvms/:microvmIdentifier/stats', async (req) => {
    const { caller } = deps.context(req);
    const { microvmIdentifier } = parseInput(MicrovmPath, req.params, 'path');
    return core.usage.stats(caller, arns.microvmId(caller, microvmIdentifier));
  });
}
