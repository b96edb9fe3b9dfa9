/** Prometheus metrics: sandbox counts by state, launch/resume latency, gateway traffic. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CoreObserver } from '../core/ports/observer.js';
import type { Store } from '../core/ports/store.js';
import type { MicrovmState } from '../core/model.js';

const STATES: MicrovmState[] = ['PENDING', 'RUNNING', 'SUSPENDING', 'SUSPENDED', 'TERMINATING', 'TERMINATED'];

export function createMetrics(store: Store): { registry: Registry; observer: CoreObserver } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cubby_process_' });
  const buckets = [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];
  const launch = new Histogram({ name: 'cubby_microvm_launch_seconds', help: 'RunMicrovm: launch call to RUNNING', labelNames: ['pooled'], buckets, registers: [registry] });
  const resume = new Histogram({ name: 'cubby_microvm_resume_seconds', help: 'Resume: SUSPENDED to RUNNING', buckets, registers: [registry] });
  const suspend = new Histogram({ name: 'cubby_microvm_suspend_seconds', help: 'Suspend: RUNNING to SUSPENDED', buckets, registers: [registry] });
  const transitions = new Counter({ name: 'cubby_microvm_transitions_total', help: 'State changes', labelNames: ['from', 'to'], registers: [registry] });
  new Gauge({
    name: 'cubby_microvms', help: 'MicroVMs by state', labelNames: ['state'], registers: [registry],
    async collect() {
      for (const s of STATES) this.set({ state: s }, await store.countMicrovms({ states: [s] }));
    },
  });
  const observer: CoreObserver = {
    launched: (e) => launch.observe({ pooled: String(e.pooled) }, e.ms / 1000),
    resumed: (e) => resume.observe(e.ms / 1000),
    suspended: (e) => suspend.observe(e.ms / 1000),
    stateChanged: (e) => transitions.inc({ from: e.from, to: e.to }),
  };
  return { registry, observer };
}
