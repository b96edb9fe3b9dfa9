// Gateway overhead, measured: the same 2000 small requests (concurrency 20, keep-alive) straight
// to a stand-in app on 127.0.0.1 and through the gateway, app and gateway each in a worker
// thread. Numbers are printed, not asserted (a shared 2-core CI box is too noisy for
// thresholds); only correctness is asserted.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { test, type TestContext } from 'node:test';
import { Worker } from 'node:worker_threads';

const TOTAL = 2000;
const CONCURRENCY = 20;

interface Run {
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  statuses: Set<number>;
}

async function load(port: number, headers: Record<string, string>, concurrency = CONCURRENCY, total = TOTAL): Promise<Run> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  const statuses = new Set<number>();
  let issued = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const req = request({ host: '127.0.0.1', port, path: '/', headers, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          statuses.add(res.statusCode ?? 0);
          resolve();
        });
      });
      req.on('error', reject);
      req.end();
    });
  const worker = async () => {
    while (issued < total) {
      issued += 1;
      await one();
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  return { seconds, rps: total / seconds, p50: pct(0.5), p99: pct(0.99), statuses };
}

async function worker(t: TestContext, data: Record<string, unknown>): Promise<{ port: number; token?: string; host?: string }> {
  const w = new Worker(new URL('./support/bench-worker.js', import.meta.url), { workerData: data });
  t.after(async () => {
    w.postMessage('stop');
    const timer = setTimeout(() => void w.terminate(), 2000);
    await once(w, 'exit');
    clearTimeout(timer);
  });
  const [msg] = (await Promise.race([
    once(w, 'message'),
    once(w, 'error').then(([e]) => {
      throw e;
    }),
  ])) as [{ port: number }];
  return msg;
}

test('throughput and latency: gateway vs direct (printed)', async (t) => {
  const app = await worker(t, { role: 'app' });
  const gw = await worker(t, { role: 'gateway', appPort: app.port });
  const viaHeaders = { host: gw.host ?? '', 'x-aws-proxy-auth': gw.token ?? '' };
  await load(app.port, {}); // warm-up of both paths, so JIT and pools are comparable
  await load(gw.port, viaHeaders);
  const direct = await load(app.port, {});
  const via = await load(gw.port, viaHeaders);
  // One at a time: latency without queueing.
  const directSeq = await load(app.port, {}, 1, 300);
  const viaSeq = await load(gw.port, viaHeaders, 1, 300);
  for (const run of [direct, via, directSeq, viaSeq]) assert.deepEqual([...run.statuses], [200]);
  const fmt = (name: string, x: Run) =>
    `${name}: ${Math.round(x.rps * x.seconds)} req in ${x.seconds.toFixed(2)} s = ${x.rps.toFixed(0)} req/s, p50 ${x.p50.toFixed(2)} ms, p99 ${x.p99.toFixed(2)} ms`;
  t.diagnostic(fmt('direct  concurrent', direct));
  t.diagnostic(fmt('gateway concurrent', via));
  t.diagnostic(
    `concurrency ${CONCURRENCY}: throughput ratio ${(via.rps / direct.rps).toFixed(2)}, added p50 ${(via.p50 - direct.p50).toFixed(2)} ms`,
  );
  t.diagnostic(fmt('direct  sequential', directSeq));
  t.diagnostic(fmt('gateway sequential', viaSeq));
  t.diagnostic(`sequential: added p50 ${(viaSeq.p50 - directSeq.p50).toFixed(3)} ms`);
});
