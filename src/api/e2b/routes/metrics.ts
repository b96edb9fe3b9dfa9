/**
 * GET /sandboxes/{id}/metrics: one sample of the sandbox's cgroup now (clients poll about every
 * 5 s). CPU use is the share of the baseline vCPUs used since this front door's previous sample
 * of the sandbox (since it started, on the first). A paused sandbox, or a window that ends
 * before now, has no samples: an empty list.
 */
import type { FastifyInstance } from 'fastify';
import { CubbyError } from '../../../errors/index.js';
import { liveSandbox, paramId, type E2bDeps } from './deps.js';

const MIB = 1024 * 1024;
/** Previous samples kept per sandbox; old entries go first past this many. */
const MAX_SAMPLES = 4096;

function unixSeconds(q: Record<string, unknown>, key: string): number | undefined {
  const v = q[key];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new CubbyError('CUBBY_VALIDATION', `${key} must be a unix time in seconds`);
  return n;
}

export function registerMetricsRoutes(app: FastifyInstance, d: E2bDeps, route: object): void {
  const previous = new Map<string, { at: number; cpuSeconds: number }>();

  app.get('/sandboxes/:sandboxID/metrics', route, async (req, reply) => {
    const caller = d.caller(req);
    const q = req.query as Record<string, unknown>;
    const start = unixSeconds(q, 'start');
    const end = unixSeconds(q, 'end');
    const s = await liveSandbox(d, caller, paramId(req));
    if (s.m.state !== 'RUNNING') return reply.send([]);
    const now = d.now();
    if ((end !== undefined && end < Math.floor(now.getTime() / 1000) - 1) || (start !== undefined && start > now.getTime() / 1000 + 1)) {
      return reply.send([]);
    }
    const st = await d.opts.core.usage.stats(caller, s.m.id);
    const at = st.sampledAt.getTime();
    const prev = previous.get(s.m.id);
    const since = prev ?? { at: s.m.startedAt.getTime(), cpuSeconds: 0 };
    const wallSeconds = Math.max(0.001, (at - since.at) / 1000);
    const cpus = Math.max(1, st.vcpus);
    const cpuUsedPct = Math.min(100, Math.max(0, ((st.cpuSeconds - since.cpuSeconds) / wallSeconds / cpus) * 100));
    previous.delete(s.m.id);
    previous.set(s.m.id, { at, cpuSeconds: st.cpuSeconds });
    if (previous.size > MAX_SAMPLES) previous.delete(previous.keys().next().value as string);
    return reply.send([
      {
        timestamp: st.sampledAt.toISOString(),
        timestampUnix: Math.floor(at / 1000),
        cpuCount: st.vcpus,
        cpuUsedPct: Math.round(cpuUsedPct * 100) / 100,
        memUsed: st.memoryBytes,
        memTotal: st.memoryMiB * MIB,
        memCache: 0,
        diskUsed: st.diskUsedBytes ?? 0,
        diskTotal: st.diskTotalBytes ?? 0,
      },
    ]);
  });
}
