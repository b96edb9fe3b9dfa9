/**
 * Load, bounded: 50 concurrent keep-alive clients through the endpoint gateway for 10 s against
 * two microVMs of the counter app, and a storm of 12 concurrent launches. The daemon runs in its
 * own process (as in production), so the load generator does not share its event loop.
 * Asserted: every request answered, none lost (each app's counter equals the 200s it gave),
 * nothing but clean throttling answers; the figures are printed, not asserted (a shared 2-core
 * machine is too noisy for thresholds).
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ListMicrovmsCommand,
  RunMicrovmCommand,
  ServiceQuotaExceededException,
  TerminateMicrovmCommand,
  ThrottlingException,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { spawnDaemon, type DaemonProcess } from '../support/daemon-process.js';
import { assertNoDaemonLeaks, daemonResources } from '../support/daemon-leaks.js';
import { buildCounterImage, endpointToken } from '../e2e/support.js';

const CLIENTS = 50;
const SECONDS = 10;
const STORM = 12;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

describe('gateway load and a launch storm', { timeout: 300_000 }, () => {
  let dp: DaemonProcess;
  let client: LambdaMicrovmsClient;
  let dataDir: string;
  let tmp: string;
  let baseline: Set<string>;
  const vms: Array<{ id: string; token: string }> = [];

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-load-art-'));
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-load-'));
    baseline = await daemonResources(dataDir);
    dp = await spawnDaemon({ dataDir, logLevel: 'warn' });
    client = (await dp.tenant('load')).client;
    await buildCounterImage(
      client,
      tmp,
      { hooks: { port: 9000, microvmHooks: { run: 'ENABLED' }, microvmImageHooks: { ready: 'ENABLED', readyTimeoutInSeconds: 60 } } },
      180_000,
    );
    for (let i = 0; i < 2; i++) {
      const id = (await client.send(new RunMicrovmCommand({ imageIdentifier: 'counter' }))).microvmId ?? '';
      vms.push({ id, token: await endpointToken(client, id) });
    }
  });

  after(async () => {
    if (dp) {
      if (!dp.pid) await dp.start().catch(() => undefined);
      const { items = [] } = await client.send(new ListMicrovmsCommand({ maxResults: 50 })).catch(() => ({ items: [] }));
      await Promise.all(
        items
          .filter((m) => m.state !== 'TERMINATED')
          .map((m) => client.send(new TerminateMicrovmCommand({ microvmIdentifier: m.microvmId })).catch(() => undefined)),
      );
      await dp.destroy();
    }
    await fs.rm(tmp, { recursive: true, force: true });
    await assertNoDaemonLeaks(dataDir, baseline);
  });

  test(`${CLIENTS} keep-alive clients for ${SECONDS} s through the gateway: every request answered, none lost`, async () => {
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    const errors: string[] = [];
    const served = new Map<string, number>(vms.map((v) => [v.id, 0]));
    const deadline = Date.now() + SECONDS * 1000;
    const one = (agent: http.Agent, vm: { id: string; token: string }) =>
      new Promise<void>((resolve) => {
        const t0 = process.hrtime.bigint();
        const req = http.request(
          {
            host: '127.0.0.1',
            port: dp.gatewayPort,
            path: '/',
            agent,
            headers: { host: `${vm.id}.${dp.domain}:${dp.gatewayPort}`, 'x-aws-proxy-auth': vm.token },
          },
          (res) => {
            res.resume();
            res.on('end', () => {
              latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
              const s = res.statusCode ?? 0;
              statuses.set(s, (statuses.get(s) ?? 0) + 1);
              if (s === 200) served.set(vm.id, (served.get(vm.id) ?? 0) + 1);
              resolve();
            });
            res.on('error', (e) => {
              errors.push(`response: ${e.message}`);
              resolve();
            });
          },
        );
        req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
        req.on('error', (e) => {
          errors.push(e.message);
          resolve();
        });
        req.end();
      });
    const start = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const vm = vms[c % vms.length] as { id: string; token: string };
        while (Date.now() < deadline) await one(agent, vm);
        agent.destroy();
      }),
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    latencies.sort((a, b) => a - b);
    console.log(
      `[load] ${CLIENTS} clients, ${seconds.toFixed(1)} s: ${latencies.length} requests, ${(latencies.length / seconds).toFixed(0)} req/s, ` +
        `p50 ${pct(latencies, 50).toFixed(1)} ms, p95 ${pct(latencies, 95).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, max ${(latencies.at(-1) ?? 0).toFixed(0)} ms; ` +
        `statuses ${JSON.stringify(Object.fromEntries(statuses))}; errors ${errors.length}`,
    );
    assert.deepEqual(errors, [], 'every request got an answer');
    for (const [s, n] of statuses) assert.ok(s === 200 || s === 429 || s === 503, `${n} answers with status ${s}`);
    assert.ok((statuses.get(200) ?? 0) > 0);
    // No request lost or doubled between the gateway and the app: each counter equals its 200s.
    for (const vm of vms) {
      const r = await dp.endpoint(vm.id, '/state', vm.token);
      assert.equal((JSON.parse(r.body) as { count: number }).count, served.get(vm.id), `${vm.id}: app count vs answers`);
    }
  });

  test(`a storm of ${STORM} concurrent launches: each RUNNING or a clean throttling answer`, async () => {
    const t0 = Date.now();
    const times: number[] = [];
    const results = await Promise.all(
      Array.from({ length: STORM }, async () => {
        const s = Date.now();
        try {
          const m = await client.send(new RunMicrovmCommand({ imageIdentifier: 'counter' }));
          times.push(Date.now() - s);
          return { id: m.microvmId ?? '', state: m.state ?? '' };
        } catch (e) {
          if (e instanceof ThrottlingException || e instanceof ServiceQuotaExceededException) return { id: '', state: e.name };
          throw e;
        }
      }),
    );
    const total = (Date.now() - t0) / 1000;
    const launched = results.filter((r) => r.id);
    times.sort((a, b) => a - b);
    console.log(
      `[storm] ${STORM} concurrent RunMicrovm in ${total.toFixed(1)} s: ${launched.length} launched (${(launched.length / total).toFixed(2)} launches/s), ` +
        `throttled ${STORM - launched.length}; each p50 ${pct(times, 50)} ms, max ${times.at(-1) ?? 0} ms`,
    );
    for (const r of launched) assert.equal(r.state, 'RUNNING');
    // Each launched microVM answers, with its own fresh memory.
    await Promise.all(
      launched.map(async (r) => {
        const res = await dp.endpoint(r.id, '/', await endpointToken(client, r.id));
        assert.equal(res.status, 200, res.body);
        assert.equal((JSON.parse(res.body) as { count: number }).count, 1);
      }),
    );
    const t1 = Date.now();
    await Promise.all(launched.map((r) => client.send(new TerminateMicrovmCommand({ microvmIdentifier: r.id }))));
    console.log(`[storm] ${launched.length} concurrent terminations in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  });
});
