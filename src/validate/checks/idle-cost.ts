/**
 * Check c: the idle cost profile. Memory and CPU an idle RUNNING microVM really uses on the host
 * (two runtime stats samples), the disk a SUSPENDED one keeps (its checkpoint, from usage), and
 * what a day of a usage pattern costs at the configured prices.
 */
import { SuspendMicrovmCommand } from '@aws-sdk/client-lambda-microvms';
import type { Session } from '../session.js';
import type { Probe } from '../types.js';
import { firstAnswer } from '../endpoint-http.js';
import { fetchStats, fetchUsage } from '../../client/usage.js';
import { mib, money } from '../format.js';
import { patternCost } from '../../core/usage/cost.js';
import { parsePattern } from '../../core/usage/pattern.js';

const IDLE_SETTLE_MS = 2000;
const SAMPLE_MS = 3000;
/** gVisor's systrap platform idles at a few percent of a core; more than this is worth a look. */
const IDLE_CPU_WARN = 0.1;

export async function checkIdleCost(s: Session): Promise<{ probes: Probe[]; data: Record<string, unknown> }> {
  const probes: Probe[] = [];
  const pattern = parsePattern(s.opts.pattern);
  const m = await s.launch();
  try {
    const token = await s.token(m.id);
    await firstAnswer({ endpoint: m.endpoint, token, port: s.opts.port, path: s.opts.path }, Date.now(), 30_000);
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    const a = await fetchStats(m.id, s.client);
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
    const b = await fetchStats(m.id, s.client);
    const elapsed = (Date.parse(b.sampledAt) - Date.parse(a.sampledAt)) / 1000;
    const cpuFraction = elapsed > 0 ? Math.max(0, (b.cpuSeconds - a.cpuSeconds) / elapsed) : 0;
    const baselineBytes = b.memoryMiB * (1 << 20);
    probes.push({
      name: 'idle RUNNING memory',
      status: baselineBytes > 0 && b.memoryBytes > baselineBytes ? 'WARN' : 'PASS',
      detail: `${mib(b.memoryBytes)} in use on the host (baseline billed: ${b.memoryMiB} MiB, ${b.vcpus} vCPU)`,
    });
    probes.push({
      name: 'idle RUNNING CPU',
      status: cpuFraction > IDLE_CPU_WARN ? 'WARN' : 'PASS',
      detail: `${(cpuFraction * 100).toFixed(1)}% of one core while idle (measured over ${elapsed.toFixed(1)} s)`,
    });

    await s.client.send(new SuspendMicrovmCommand({ microvmIdentifier: m.id }));
    const w = await s.waitForState(m.id, ['SUSPENDED'], 60_000);
    if (!w.reached) throw new Error(`suspend did not reach SUSPENDED (stayed ${w.m.state}: ${w.m.stateReason ?? ''})`);
    const usage = await fetchUsage(s.opts.prices ? { prices: s.opts.prices } : {}, s.client);
    const u = usage.microvms.find((x) => x.id === m.id);
    if (!u) throw new Error(`usage does not list microVM ${m.id}`);
    probes.push({
      name: 'SUSPENDED disk',
      status: u.snapshotBytes > 0 ? 'PASS' : 'FAIL',
      detail:
        u.snapshotBytes > 0
          ? `${mib(u.snapshotBytes)} of snapshot on disk; no memory or CPU held`
          : 'no snapshot on disk for a SUSPENDED microVM',
    });

    const sizing = { vcpus: u.vcpus, memoryMiB: u.memoryMiB, snapshotBytes: u.snapshotBytes };
    const day = patternCost(pattern, sizing, usage.prices);
    const cur = usage.prices.currency;
    probes.push({
      name: 'day cost',
      status: 'PASS',
      detail:
        `${s.opts.pattern}: ${money(day.total, cur)} per day (active ${money(day.running.total, cur)}, idle ${money(day.idle.total, cur)}, suspended ${money(day.suspended.total, cur)}); ` +
        `${money(day.alwaysRunning, cur)} if never suspended; illustrative prices unless --prices`,
    });
    return {
      probes,
      data: {
        microvmId: m.id,
        idle: { memoryBytes: b.memoryBytes, cpuFraction, sampleSeconds: elapsed },
        baseline: { memoryMiB: b.memoryMiB, vcpus: b.vcpus },
        suspended: { snapshotBytes: u.snapshotBytes },
        prices: usage.prices,
        pattern,
        day,
      },
    };
  } finally {
    await s.terminate(m.id).catch(() => undefined);
  }
}
