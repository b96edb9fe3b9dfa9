/**
 * Prometheus metrics: sandbox counts by state, launch/resume latency, gateway traffic, and each
 * tenant's usage (the idle cost profile of real use: RUNNING and SUSPENDED seconds, snapshot
 * bytes on disk, the cost estimate), read from the usage service at scrape time.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CoreObserver } from '../core/ports/observer.js';
import type { Store } from '../core/ports/store.js';
import { MICROVM_STATES } from '../core/microvms/state-machine.js';
import type { UsageService } from '../core/services.js';
import type { UsageTotals } from '../core/usage/types.js';

/** How long one scrape's per-tenant usage is reused (it reads every microVM and the disk). */
const USAGE_CACHE_MS = 1_000;

export function createMetrics(store: Store): { registry: Registry; observer: CoreObserver; meterUsage(usage: UsageService): void } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cubby_process_' });
  const buckets = [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];
  const launch = new Histogram({
    name: 'cubby_microvm_launch_seconds',
    help: 'RunMicrovm: launch call to RUNNING',
    labelNames: ['pooled'],
    buckets,
    registers: [registry],
  });
  const resume = new Histogram({
    name: 'cubby_microvm_resume_seconds',
    help: 'Resume: SUSPENDED to RUNNING',
    buckets,
    registers: [registry],
  });
  const suspend = new Histogram({
    name: 'cubby_microvm_suspend_seconds',
    help: 'Suspend: RUNNING to SUSPENDED',
    buckets,
    registers: [registry],
  });
  const transitions = new Counter({
    name: 'cubby_microvm_transitions_total',
    help: 'State changes',
    labelNames: ['from', 'to'],
    registers: [registry],
  });
  new Gauge({
    name: 'cubby_microvms',
    help: 'MicroVMs by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      for (const s of MICROVM_STATES) this.set({ state: s }, await store.countMicrovms({ states: [s] }));
    },
  });
  const observer: CoreObserver = {
    launched: (e) => launch.observe({ pooled: String(e.pooled) }, e.ms / 1000),
    resumed: (e) => resume.observe(e.ms / 1000),
    suspended: (e) => suspend.observe(e.ms / 1000),
    stateChanged: (e) => transitions.inc({ from: e.from, to: e.to }),
  };
  const meterUsage = (usage: UsageService): void => {
    let cached: { at: number; rows: Promise<Array<{ tenant: string; totals: UsageTotals; currency: string }>> } | undefined;
    const rows = () => {
      if (!cached || Date.now() - cached.at > USAGE_CACHE_MS) {
        const at = Date.now();
        const p = (async () =>
          Promise.all(
            (await store.listTenants()).map(async (tenant) => {
              const r = await usage.report({ tenant });
              return { tenant: tenant.name, totals: r.totals, currency: r.prices.currency };
            }),
          ))();
        // A failed read is not kept: the next scrape tries again.
        p.catch(() => {
          if (cached?.at === at) cached = undefined;
        });
        cached = { at, rows: p };
      }
      return cached.rows;
    };
    const perTenant = (name: string, help: string, pick: (t: UsageTotals) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['tenant'],
        registers: [registry],
        async collect() {
          this.reset();
          for (const r of await rows()) this.set({ tenant: r.tenant }, pick(r.totals));
        },
      });
    };
    new Gauge({
      name: 'cubby_tenant_microvms',
      help: "A tenant's microVMs RUNNING or SUSPENDED now",
      labelNames: ['tenant', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const r of await rows()) {
          this.set({ tenant: r.tenant, state: 'RUNNING' }, r.totals.running);
          this.set({ tenant: r.tenant, state: 'SUSPENDED' }, r.totals.suspended);
        }
      },
    });
    // Gauges, not counters: TERMINATED microVMs leave the record (and these sums) after retention.
    perTenant('cubby_tenant_running_seconds', "Seconds RUNNING of the tenant's microVMs on record", (t) => t.runningSeconds);
    perTenant('cubby_tenant_suspended_seconds', "Seconds SUSPENDED of the tenant's microVMs on record", (t) => t.suspendedSeconds);
    perTenant('cubby_tenant_vcpu_seconds', "Baseline vCPU-seconds RUNNING of the tenant's microVMs on record", (t) => t.vcpuSeconds);
    perTenant('cubby_tenant_memory_gib_seconds', "Baseline GiB-seconds RUNNING of the tenant's microVMs on record", (t) => t.gibSeconds);
    perTenant('cubby_tenant_snapshot_bytes', "Bytes on disk of the tenant's suspend checkpoints now", (t) => t.snapshotBytes);
    new Gauge({
      name: 'cubby_tenant_cost_estimate',
      help: "Cost estimate of the tenant's microVMs on record, at the configured prices",
      labelNames: ['tenant', 'currency'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const r of await rows()) this.set({ tenant: r.tenant, currency: r.currency }, r.totals.cost.total);
      },
    });
  };
  return { registry, observer, meterUsage };
}
