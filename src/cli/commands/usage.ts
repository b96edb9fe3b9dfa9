/** `cubby usage`: what your microVMs ran, slept, keep on disk, and an estimate of what that costs. */
import type { Command } from 'commander';
import { print, table } from '../output.js';
import { fetchUsage } from '../../client/usage.js';
import { mib, money, seconds } from '../../validate/format.js';
import { parsePrices } from '../../core/usage/prices.js';

export function registerUsage(program: Command): void {
  program
    .command('usage')
    .description('usage and cost estimate of your microVMs (RUNNING: vCPU + memory; SUSPENDED: snapshot storage)')
    .option('--from <time>', "window start (ISO 8601 or epoch seconds; default: each microVM's start)")
    .option('--to <time>', 'window end (default: now)')
    .option('--prices <list>', 'vcpuSecond=..,gibSecond=..,snapshotGibMonth=..,currency=.. (default: illustrative prices)')
    .option('--json')
    .action(async (o: { from?: string; to?: string; prices?: string; json?: boolean }) => {
      if (o.prices) parsePrices(o.prices);
      const r = await fetchUsage({
        ...(o.from ? { from: o.from } : {}),
        ...(o.to ? { to: o.to } : {}),
        ...(o.prices ? { prices: o.prices } : {}),
      });
      if (o.json) {
        print(r, o);
        return;
      }
      const cur = r.prices.currency;
      table(
        r.microvms.map((m) => ({
          microvm: m.id,
          image: `${m.image}:${m.version}`,
          state: m.state,
          running: seconds(m.runningSeconds),
          suspended: seconds(m.suspendedSeconds),
          size: `${m.vcpus} vCPU ${m.memoryMiB} MiB`,
          snapshot: m.snapshotBytes ? mib(m.snapshotBytes) : '-',
          cost: money(m.cost.total, cur) + (m.prorated ? ' ~' : ''),
        })),
      );
      const t = r.totals;
      process.stdout.write(
        [
          '',
          `window      ${r.from ?? "each microVM's start"} .. ${r.to}`,
          `microVMs    ${t.microvms} (${t.running} running, ${t.suspended} suspended now)`,
          `running     ${seconds(t.runningSeconds)}: ${t.vcpuSeconds.toFixed(0)} vCPU-s, ${t.gibSeconds.toFixed(0)} GiB-s`,
          `suspended   ${seconds(t.suspendedSeconds)}: ${t.snapshotGibMonths.toExponential(2)} GiB-months; ${mib(t.snapshotBytes)} of snapshots on disk now`,
          `cost        ${money(t.cost.total, cur)} (vCPU ${money(t.cost.vcpu, cur)}, memory ${money(t.cost.memory, cur)}, storage ${money(t.cost.storage, cur)})`,
          `prices      ${r.prices.vcpuSecond} per vCPU-s, ${r.prices.gibSecond} per GiB-s, ${r.prices.snapshotGibMonth} per snapshot GiB-month (${cur}; illustrative unless set with --prices)`,
          '',
        ].join('\n'),
      );
      // Each quota: its limit (the tenant's own or the operator's default) and the use now.
      if (r.quotas?.length) {
        table(
          r.quotas.map((q) => ({
            quota: q.name,
            limit: q.unit === 'bytes' ? mib(q.limit) : `${q.limit}${q.unit === 'MiB' ? ' MiB' : ''}`,
            used: q.unit === 'bytes' ? mib(q.used) : `${q.used}${q.unit === 'MiB' ? ' MiB' : ''}`,
            source: q.overridden ? 'tenant' : 'default',
          })),
        );
      }
    });
}
