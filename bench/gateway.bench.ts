/**
 * Gateway figures: throughput and latency of one RUNNING microVM's app through the endpoint
 * gateway (Host routing, token check, proxy) beside the same load sent straight to the sandbox
 * address. The load comes from a child process, so it never shares the daemon's event loop;
 * gateway and direct rounds alternate. Measured on the counter app with 4 vCPUs of quota (so
 * the app's CPU quota is not what is measured), and once on the 0.25-vCPU counter image.
 */
import { benchDaemon, IMAGE, UNTHROTTLED, type BenchDaemon } from './support/cubby-fixture.js';
import { untilOk } from './support/http-probe.js';
import { runLoad } from './support/load.js';
import type { LoadSpec } from './support/load-worker.js';
import { median, printGoal, printGoalMinRatio, printTable, type Row } from './support/stats.js';

export interface GatewayBenchOptions {
  requests: number;
  concurrency: number;
  sequential: number;
  rounds: number;
}
type Target = Omit<LoadSpec, 'requests' | 'concurrency' | 'warmup'>;

interface Measured {
  rps: Row;
  load: Row;
  seq: Row;
  added: Row;
  cpu: Row;
  errors: string;
}

async function targets(b: BenchDaemon, image: string): Promise<{ gw: Target; direct: Target }> {
  const id = await b.run({ imageIdentifier: image });
  const token = await b.token(id);
  const gw: Target = {
    host: '127.0.0.1',
    port: b.d.gatewayPort,
    path: '/state',
    headers: { host: `${id}.${b.d.config.domain}:${b.d.gatewayPort}`, 'x-aws-proxy-auth': token },
  };
  await untilOk(gw);
  return { gw, direct: { host: await b.address(id), port: 8080, path: '/state' } };
}

async function measure(t: { gw: Target; direct: Target }, o: GatewayBenchOptions, label: string): Promise<Measured> {
  const m: Measured = {
    rps: {
      metric: `${label}: throughput, ${o.requests} GETs at concurrency ${o.concurrency}, keep-alive`,
      cubby: [],
      raw: [],
      unit: 'req/s',
      goal: '>= 0.8x',
    },
    load: { metric: `${label}: latency under that load`, cubby: [], raw: [] },
    seq: { metric: `${label}: sequential latency (${o.sequential} GETs per round)`, cubby: [], raw: [] },
    added: { metric: `${label}: added p50 latency, sequential (gateway - direct, per round)`, cubby: [], goal: '< 1 ms' },
    cpu: { metric: `${label}: daemon process CPU per request via the gateway`, cubby: [], unit: 'us' },
    errors: '',
  };
  for (let round = 0; round < o.rounds; round++) {
    const order: Array<['cubby' | 'raw', Target]> =
      round % 2 === 0
        ? [
            ['cubby', t.gw],
            ['raw', t.direct],
          ]
        : [
            ['raw', t.direct],
            ['cubby', t.gw],
          ];
    const seqP50: Record<string, number> = {};
    for (const [side, spec] of order) {
      const cpu0 = process.cpuUsage();
      const r = await runLoad({ ...spec, requests: o.requests, concurrency: o.concurrency, warmup: 4 * o.concurrency });
      const cpu = process.cpuUsage(cpu0);
      if (r.errors) m.errors += `${side === 'cubby' ? 'gateway' : 'direct'}: ${r.errors} errors (${r.firstError}); `;
      m.rps[side]?.push(r.ok / (r.ms / 1000));
      m.load[side]?.push(...r.latencies);
      if (side === 'cubby') m.cpu.cubby.push((cpu.user + cpu.system) / r.ok);
      const s = await runLoad({ ...spec, requests: o.sequential, concurrency: 1, warmup: 20 });
      m.seq[side]?.push(...s.latencies);
      seqP50[side] = median(s.latencies);
    }
    m.added.cubby.push((seqP50.cubby ?? NaN) - (seqP50.raw ?? NaN));
  }
  return m;
}

export async function gatewayBench(
  o: GatewayBenchOptions = { requests: 3000, concurrency: 16, sequential: 500, rounds: 3 },
): Promise<Row[]> {
  let b: BenchDaemon | undefined;
  let fast: Measured | undefined;
  let small: Measured | undefined;
  try {
    b = await benchDaemon(0);
    await b.image(UNTHROTTLED.name, UNTHROTTLED.memoryMiB);
    fast = await measure(await targets(b, UNTHROTTLED.name), o, UNTHROTTLED.name);
    small = await measure(
      await targets(b, IMAGE),
      { requests: 600, concurrency: o.concurrency, sequential: 200, rounds: 1 },
      `${IMAGE} (0.25 vCPU)`,
    );
  } finally {
    await b?.stop().catch((e: unknown) => console.error('bench daemon stop failed', e));
  }
  const out = [fast.rps, fast.load, fast.seq, fast.added, fast.cpu, small.rps, small.seq];
  printTable(
    'Gateway vs direct to the sandbox (raw column: the same load straight to the sandbox address; one RUNNING microVM, GET /state)',
    out,
  );
  if (fast.errors || small.errors) console.log(`errors: ${fast.errors}${small.errors}`);
  printGoalMinRatio('gateway throughput', fast.rps.cubby, fast.rps.raw ?? [], 0.8);
  printGoal('added p50 latency', fast.added.cubby, undefined, 1);
  return out;
}
