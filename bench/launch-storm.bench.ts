/**
 * Issue 13's warm-pool hand-out and launch-storm figures.
 * - Warm pool: RunMicrovm start -> first 200 via the gateway of a pooled (warmed) launch, with
 *   the gateway pre-connecting to the app at hand-out and without, alternating; its floor is what
 *   is left with no control plane at all: the run hook POST and one GET via the gateway on a
 *   warm sandbox.
 * - Storm: 50 RunMicrovm at once from 5 tenants (10 each, their own counter image), the default
 *   warm pool (all but one clone per image kept frozen) and launch limits: time until all
 *   answer, launches/s, p95 per tenant, failures. Then the same storm with a tight per-tenant
 *   queue, once with clients that do not retry (the ThrottlingExceptions are counted) and once
 *   with the official client's default retries. Last, default limits with a pool of 2 per image
 *   (the earlier default depth): cold restores are CPU-bound, so the pool sets the storm's rate.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  LambdaMicrovmsClient,
  RunMicrovmCommand,
  TerminateMicrovmCommand,
  ThrottlingException,
  type LambdaMicrovmsClient as Client,
} from '@aws-sdk/client-lambda-microvms';
import { benchDaemon, type BenchDaemon } from './support/cubby-fixture.js';
import { gatewayProbe, untilOk } from './support/http-probe.js';
import { median, percentile, printGoal, printTable, timed, type Row } from './support/stats.js';
import { fixtureArtifact } from '../test/support/daemon.js';
import { DEFAULT_CORE_CONFIG } from '../src/core/index.js';
import { createImage, waitForVersion } from '../test/e2e/support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TENANTS = 5;
const PER_TENANT = 10;
const HOOKS = {
  port: 9000,
  microvmHooks: { run: 'ENABLED', terminate: 'ENABLED' },
  microvmImageHooks: { ready: 'ENABLED', readyTimeoutInSeconds: 60 },
} as const;

async function waitForPool(b: BenchDaemon, size: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (b.d.core.launcher.pooledIds().length < size) {
    if (Date.now() > deadline) throw new Error(`warm pool did not refill to ${size} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** One pooled launch: RunMicrovm, then the first 200 via the gateway; then the floor on the same, now warm, sandbox. */
async function pooledLaunch(b: BenchDaemon): Promise<{ id: string; pooled: boolean; run: number; first: number; floor: number }> {
  await waitForPool(b, 1);
  await sleep(300); // let the refill's CPU settle
  const pooled = new Set(b.d.core.launcher.pooledIds());
  const [run, id] = await timed(() => b.run());
  const token = await b.token(id);
  const first = await untilOk(gatewayProbe(b.d.gatewayPort, b.d.config.domain, id, token));
  const address = await b.address(id);
  const [floor] = await timed(async () => {
    await b.hooks.call({ address, port: 9000, hook: 'run', body: { microvmId: id, runHookPayload: '' }, timeoutMs: 5000 });
    await untilOk(gatewayProbe(b.d.gatewayPort, b.d.config.domain, id, token));
  });
  return { id, pooled: pooled.has(id), run, first, floor };
}

async function warmPoolRows(reps: number): Promise<Row[]> {
  const rows = {
    on: {
      metric: 'warm pool, gateway pre-connected at hand-out: RunMicrovm start -> first 200 via gateway',
      cubby: [] as number[],
      raw: [] as number[],
      goal: 'p50 < 25 ms',
    },
    off: {
      metric: 'warm pool, no pre-connect (before): RunMicrovm start -> first 200 via gateway',
      cubby: [] as number[],
      raw: [] as number[],
    },
    onFirst: { metric: 'warm pool, pre-connected: first request after RUNNING', cubby: [] as number[] },
    offFirst: { metric: 'warm pool, no pre-connect (before): first request after RUNNING', cubby: [] as number[] },
    onRun: { metric: 'warm pool, pre-connected: RunMicrovm call -> RUNNING', cubby: [] as number[] },
    offRun: { metric: 'warm pool, no pre-connect (before): RunMicrovm call -> RUNNING', cubby: [] as number[] },
  };
  let misses = 0;
  const b = await benchDaemon(1);
  try {
    const launcher = b.d.core.launcher;
    const imageId = b.version.imageId;
    for (let i = 0; i < reps * 2; i++) {
      const pre = i % 2 === 1;
      // A fresh pool made under this setting: drop the old clone, then an untimed launch starts the pool.
      launcher.preconnect = pre;
      await launcher.drop(imageId);
      const seed = await b.run();
      await b.d.core.services.microvms.terminate(b.caller, seed);
      const l = await pooledLaunch(b);
      if (!l.pooled) misses++;
      const total = l.run + l.first;
      (pre ? rows.on : rows.off).cubby.push(total);
      (pre ? rows.on : rows.off).raw.push(l.floor);
      (pre ? rows.onFirst : rows.offFirst).cubby.push(l.first);
      (pre ? rows.onRun : rows.offRun).cubby.push(l.run);
      await b.client.send(new TerminateMicrovmCommand({ microvmIdentifier: l.id }));
    }
    launcher.preconnect = true;
  } finally {
    await b.stop();
  }
  printTable('Warm-pool hand-out (raw column: the floor, run hook POST + one GET via the gateway on a warm sandbox)', Object.values(rows));
  if (misses) console.log(`(pool misses: ${misses} launches were not handed a pooled clone)`);
  printGoal('warm-pool launch to first answer p50', rows.on.cubby, undefined, 25);
  return Object.values(rows);
}

interface StormResult {
  wallMs: number;
  perTenant: number[][];
  ok: number;
  throttled: number;
  failed: string[];
}

async function storm(clients: Client[]): Promise<{ r: StormResult; ids: Array<{ client: Client; id: string }> }> {
  const perTenant: number[][] = clients.map(() => []);
  const ids: Array<{ client: Client; id: string }> = [];
  const r: StormResult = { wallMs: 0, perTenant, ok: 0, throttled: 0, failed: [] };
  const t0 = performance.now();
  await Promise.all(
    clients.flatMap((client, t) =>
      Array.from({ length: PER_TENANT }, async () => {
        const s = performance.now();
        try {
          const m = await client.send(new RunMicrovmCommand({ imageIdentifier: 'counter' }));
          perTenant[t]?.push(performance.now() - s);
          if (m.state === 'RUNNING' && m.microvmId) {
            r.ok++;
            ids.push({ client, id: m.microvmId });
          } else r.failed.push(`answered ${m.state}`);
        } catch (e) {
          if (e instanceof ThrottlingException) r.throttled++;
          else r.failed.push(`${(e as Error).name}: ${(e as Error).message}`);
        }
      }),
    ),
  );
  r.wallMs = performance.now() - t0;
  return { r, ids };
}

async function stormRows(): Promise<Row[]> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-bench-storm-'));
  const b = await benchDaemon(2);
  const rows: Row[] = [];
  const lines: string[] = [];
  try {
    const uri = await fixtureArtifact('counter', work);
    const tenants = [];
    for (let t = 0; t < TENANTS; t++) tenants.push(await b.d.tenant(`storm${t}`));
    // Builds one after another (the host builds one at a time anyway).
    for (const t of tenants) {
      await createImage(t.client, 'counter', uri, { hooks: HOOKS, resources: [{ minimumMemoryInMiB: 512 }] });
      const v = await waitForVersion(t.client, 'counter', '1.0');
      if (v.state !== 'SUCCESSFUL') throw new Error(`storm image build ${v.state}: ${v.stateReason ?? ''}`);
    }
    const retrying = tenants.map(
      (t) =>
        new LambdaMicrovmsClient({
          endpoint: b.d.apiUrl,
          region: 'local',
          credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey },
        }),
    );
    const single = tenants.map((t) => t.client); // maxAttempts 1
    const limits = b.d.core.launcher.gate.limits;
    const defaults = { ...limits };
    const pool = DEFAULT_CORE_CONFIG.warmPoolSize;
    const cases: Array<{ name: string; clients: Client[]; perTenantQueue?: number; pool?: number }> = [
      {
        name: `defaults (pool ${pool} per image, ${defaults.concurrency} at once, queue ${defaults.maxQueued} / ${defaults.maxQueuedPerTenant} per tenant)`,
        clients: single,
      },
      { name: 'per-tenant queue 4, clients without retries', clients: single, perTenantQueue: 4 },
      { name: 'per-tenant queue 4, the official client retrying (its default)', clients: retrying, perTenantQueue: 4 },
      { name: 'default limits, warm pool 2 per image (before)', clients: single, pool: 2 },
    ];
    for (const c of cases) {
      // Each storm starts with a full pool per image, of this case's depth (pools fill in the background, paced).
      const poolSize = c.pool ?? pool;
      b.d.core.launcher.poolSize = poolSize;
      for (const t of tenants) {
        const image = await b.d.store.getImageByName(t.tenantId, 'counter');
        if (image) await b.d.core.launcher.drop(image.id);
      }
      for (const t of tenants) {
        const m = await t.client.send(new RunMicrovmCommand({ imageIdentifier: 'counter' }));
        await t.client.send(new TerminateMicrovmCommand({ microvmIdentifier: m.microvmId }));
      }
      const deadline = Date.now() + 120_000;
      while (b.d.core.launcher.pooledIds().length < TENANTS * poolSize && Date.now() < deadline) await sleep(100);
      if (b.d.core.launcher.pooledIds().length < TENANTS * poolSize)
        console.log(
          `(${c.name}: the pools held only ${b.d.core.launcher.pooledIds().length} of ${TENANTS * poolSize} clones at the start)`,
        );
      await sleep(500);
      limits.maxQueuedPerTenant = c.perTenantQueue ?? defaults.maxQueuedPerTenant;
      const { r, ids } = await storm(c.clients);
      limits.maxQueuedPerTenant = defaults.maxQueuedPerTenant;
      const rate = (r.ok / r.wallMs) * 1000;
      rows.push({ metric: `storm, ${c.name}: time until all ${TENANTS * PER_TENANT} answer`, cubby: [r.wallMs] });
      rows.push({ metric: `storm, ${c.name}: launches/s sustained`, cubby: [rate], unit: '/s', goal: '>= 10/s' });
      r.perTenant.forEach((xs, t) => rows.push({ metric: `storm, ${c.name}: tenant ${t} RunMicrovm latency`, cubby: xs }));
      lines.push(
        `- ${c.name}: ${r.ok} RUNNING, ${r.throttled} ThrottlingException, ${r.failed.length} other failures${r.failed.length ? ` (${[...new Set(r.failed)].join('; ')})` : ''}; ` +
          `${rate.toFixed(1)} launches/s; p95 per tenant ${r.perTenant.map((xs) => percentile(xs, 95).toFixed(0)).join(' / ')} ms (median of p95s ${median(r.perTenant.map((xs) => percentile(xs, 95))).toFixed(0)} ms)`,
      );
      for (const { client, id } of ids) await client.send(new TerminateMicrovmCommand({ microvmIdentifier: id })).catch(() => undefined);
    }
  } finally {
    await b.stop();
    await fs.rm(work, { recursive: true, force: true });
  }
  printTable(`Launch storm: ${TENANTS * PER_TENANT} RunMicrovm at once from ${TENANTS} tenants (default warm pool unless named)`, rows);
  for (const l of lines) console.log(l);
  const first = rows.find((r) => r.unit === '/s');
  if (first)
    console.log(`- goal storm launches/s >= 10: ${median(first.cubby).toFixed(1)}/s -> ${median(first.cubby) >= 10 ? 'met' : 'MISSED'}`);
  return rows;
}

export async function launchStormBench(reps = 10): Promise<Row[]> {
  return [...(await warmPoolRows(reps)), ...(await stormRows())];
}
