/**
 * Gateway figures: throughput and latency of one RUNNING microVM's app through the endpoint
 * gateway (Host routing, token check, proxy) beside the same load sent straight to the sandbox
 * address. The load comes from a child process, so it never shares the daemon's event loop;
 * gateway and direct rounds alternate.
 */
import { benchDaemon, type BenchDaemon } from './support/cubby-fixture.js';
import { untilOk } from './support/http-probe.js';
import { runLoad } from './support/load.js';
import type { LoadSpec } from './support/load-worker.js';
import { median, printGoal, printGoalMinRatio, printTable, type Row } from './support/stats.js';

export interface GatewayBenchOptions { requests: number; concurrency: number; sequential: number; rounds: number }

export async function gatewayBench(o: GatewayBenchOptions = { requests: 3000, concurrency: 16, sequential: 500, rounds: 3 }): Promise<Row[]> {
  const rows = {
    rps: { metric: `throughput, ${o.requests} GETs at concurrency ${o.concurrency}, keep-alive (raw: direct to sandbox)`, cubby: [] as number[], raw: [] as number[], unit: 'req/s', goal: '>= 0.8x' },
    loadP50: { metric: `latency under that load, per request (raw: direct)`, cubby: [] as number[], raw: [] as number[] },
    seq: { metric: `sequential latency, ${o.sequential} GETs per round (raw: direct)`, cubby: [] as number[], raw: [] as number[] },
    added: { metric: 'added p50 latency, sequential (gateway - direct, per round)', cubby: [] as number[], goal: '< 1 ms' },
    cpu: { metric: 'daemon CPU per request through the gateway (whole daemon process)', cubby: [] as number[], unit: 'us' },
  };
  let b: BenchDaemon | undefined;
  let errors = '';
  try {
    b = await benchDaemon(0);
    const id = await b.run();
    const token = await b.token(id);
    const address = await b.address(id);
    const gw: Omit<LoadSpec, 'requests' | 'concurrency' | 'warmup'> = {
      host: '127.0.0.1', port: b.d.gatewayPort, path: '/state',
      headers: { host: `${id}.${b.d.config.domain}:${b.d.gatewayPort}`, 'x-aws-proxy-auth': token },
    };
    const direct: typeof gw = { host: address, port: 8080, path: '/state' };
    await untilOk(gw);
    for (let round = 0; round < o.rounds; round++) {
      const order: Array<['cubby' | 'raw', typeof gw]> = round % 2 === 0 ? [['cubby', gw], ['raw', direct]] : [['raw', direct], ['cubby', gw]];
      const seqP50: Record<string, number> = {};
      for (const [side, spec] of order) {
        const cpu0 = process.cpuUsage();
        const r = await runLoad({ ...spec, requests: o.requests, concurrency: o.concurrency, warmup: 4 * o.concurrency });
        const cpu = process.cpuUsage(cpu0);
        if (r.errors) errors += `${side === 'cubby' ? 'gateway' : 'direct'}: ${r.errors} errors (${r.firstError}); `;
        rows.rps[side].push(r.ok / (r.ms / 1000));
        rows.loadP50[side].push(...r.latencies);
        if (side === 'cubby') rows.cpu.cubby.push(((cpu.user + cpu.system) / r.ok));
        const s = await runLoad({ ...spec, requests: o.sequential, concurrency: 1, warmup: 20 });
        rows.seq[side].push(...s.latencies);
        seqP50[side] = median(s.latencies);
      }
      rows.added.cubby.push((seqP50.cubby ?? NaN) - (seqP50.raw ?? NaN));
    }
  } finally {
    await b?.stop().catch((e: unknown) => console.error('bench daemon stop failed', e));
  }
  const out = Object.values(rows);
  printTable('Gateway vs direct to the sandbox (one RUNNING microVM, counter app GET /state)', out);
  if (errors) console.log(`errors: ${errors}`);
  printGoalMinRatio('gateway throughput', rows.rps.cubby, rows.rps.raw, 0.8);
  printGoal('added p50 latency', rows.added.cubby, undefined, 1);
  return out;
}
