// Gateway overhead, measured: the same 2000 small requests (concurrency 20, keep-alive) straight
// to a stand-in app on 127.0.0.1 and through the gateway. Numbers are printed, not asserted
// (a shared 2-core CI box is too noisy for thresholds); only correctness is asserted.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { test } from 'node:test';
import { rig } from './support/setup.js';

const TOTAL = 2000;
const CONCURRENCY = 20;

interface Run { seconds: number; rps: number; p50: number; p99: number; statuses: Set<number> }

async function load(port: number, headers: Record<string, string>): Promise<Run> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies: number[] = [];
  const statuses = new Set<number>();
  let issued = 0;
  const one = () => new Promise<void>((resolve, reject) => {
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
  const worker = async () => { while (issued < TOTAL) { issued += 1; await one(); } };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  return { seconds, rps: TOTAL / seconds, p50: pct(0.5), p99: pct(0.99), statuses };
}

test('throughput and latency: gateway vs direct (printed)', async (t) => {
  const r = await rig(t);
  await load(r.app.port, {}); // warm-up of both paths, so JIT and pools are comparable
  await load(r.port, { host: r.host(), 'x-aws-proxy-auth': r.token() });
  const direct = await load(r.app.port, {});
  const via = await load(r.port, { host: r.host(), 'x-aws-proxy-auth': r.token() });
  assert.deepEqual([...direct.statuses], [200]);
  assert.deepEqual([...via.statuses], [200]);
  const fmt = (name: string, x: Run) =>
    `${name}: ${TOTAL} req in ${x.seconds.toFixed(2)} s = ${x.rps.toFixed(0)} req/s, p50 ${x.p50.toFixed(2)} ms, p99 ${x.p99.toFixed(2)} ms`;
  t.diagnostic(fmt('direct ', direct));
  t.diagnostic(fmt('gateway', via));
  t.diagnostic(`added p50 latency ${(via.p50 - direct.p50).toFixed(2)} ms, throughput ratio ${(via.rps / direct.rps).toFixed(2)}`);
});
