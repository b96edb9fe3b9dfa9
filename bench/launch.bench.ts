/**
 * Launch figures (issue: Images): RunMicrovm call start -> the app's first HTTP 200, through
 * the gateway and straight to the sandbox, with the warm pool off and on, beside raw runsc
 * restoring the same snapshot into a fresh netns until its first answer on :8080.
 * Cubby and raw runs alternate so machine noise hits both alike.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TerminateMicrovmCommand } from '@aws-sdk/client-lambda-microvms';
import { benchDaemon, UNTHROTTLED, type BenchDaemon } from './support/cubby-fixture.js';
import { gatewayProbe, untilOk } from './support/http-probe.js';
import { Phases, byCaller } from './support/phases.js';
import { RawRestorer } from './support/raw-restore.js';
import { printGoal, printTable, timed, type Row } from './support/stats.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CORE = 'core run';
const RESTORE = 'runtime.restore';
const NET = 'network.allocate';
const RUNSC = 'runsc restore';
const GET = 'runtime.get (gateway address lookup)';

/** Times the daemon's own steps of a launch (restore, network, runsc, hooks, address lookup). */
function timeLaunchSteps(b: BenchDaemon): Phases {
  const p = new Phases();
  p.wrap(b.d.core.manager, 'run', CORE);
  p.wrap(b.runtime, 'restore', RESTORE);
  p.wrap(b.network, 'allocate', NET);
  p.wrap((b.runtime as unknown as { runsc: object }).runsc, 'startDetached', RUNSC);
  p.wrap(b.hooks, 'call', (c) => `hook ${(c as { hook: string }).hook}`);
  p.wrap(
    b.runtime,
    'get',
    byCaller('runtime.get', { CoreGatewayTargets: 'gateway address lookup', doTerminate: 'terminate hook address' }),
  );
  return p;
}

async function terminate(b: BenchDaemon, ids: string[]): Promise<void> {
  await Promise.all(ids.map((id) => b.client.send(new TerminateMicrovmCommand({ microvmIdentifier: id }))));
}

/** One launch: RunMicrovm, then the first 200 through `first` and after it through the other path. */
async function launchOnce(
  b: BenchDaemon,
  first: 'gateway' | 'direct',
  image?: string,
): Promise<{ id: string; run: number; gateway: number; direct: number }> {
  const [run, id] = await timed(() => b.run(image ? { imageIdentifier: image } : {}));
  // Token and address are looked up outside the timed path (a client would hold the token already).
  const token = await b.token(id);
  const address = await b.address(id);
  const gw = () => untilOk(gatewayProbe(b.d.gatewayPort, b.d.config.domain, id, token));
  const direct = () => untilOk({ host: address, port: 8080, path: '/state' });
  if (first === 'gateway') {
    const g = await gw();
    return { id, run, gateway: g, direct: await direct() };
  }
  const dd = await direct();
  return { id, run, direct: dd, gateway: await gw() };
}

async function waitForPool(b: BenchDaemon, size: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (b.d.core.launcher.pooledIds().length < size) {
    if (Date.now() > deadline) throw new Error(`warm pool did not refill to ${size} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

export async function launchBench(reps = 20): Promise<Row[]> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-bench-launch-'));
  const rows = {
    run: { metric: 'cold: RunMicrovm call -> RUNNING (raw: netns + runsc restore returned)', cubby: [] as number[], raw: [] as number[] },
    gw: { metric: 'cold: RunMicrovm start -> first 200 via gateway', cubby: [] as number[], raw: [] as number[], goal: '<= 1.15x raw' },
    direct: { metric: 'cold: RunMicrovm start -> first 200 direct to sandbox', cubby: [] as number[], raw: [] as number[] },
    gwFirst: { metric: 'cold: first request via gateway (after RUNNING)', cubby: [] as number[] },
    directFirst: { metric: 'cold: first request direct (after RUNNING)', cubby: [] as number[] },
    warm: {
      metric: 'warm pool (refilled): RunMicrovm start -> first 200 via gateway',
      cubby: [] as number[],
      raw: [] as number[],
      goal: 'p50 < 100 ms',
    },
    warmRun: { metric: 'warm pool (refilled): RunMicrovm call -> RUNNING', cubby: [] as number[] },
    burst: { metric: 'warm pool, 5 back-to-back: RunMicrovm start -> first 200 via gateway', cubby: [] as number[], raw: [] as number[] },
    fast: {
      metric: `cold, ${UNTHROTTLED.name} image (4 vCPU quota, never throttled): RunMicrovm start -> first 200 via gateway`,
      cubby: [] as number[],
      raw: [] as number[],
    },
  };
  const steps = {
    core: {
      metric: 'core run: lease + restore + run hook + store (raw: netns + restore + first 200)',
      cubby: [] as number[],
      raw: [] as number[],
    },
    restore: {
      metric: 'runtime.restore: network + manifest + bundle + runsc (raw: netns + bundle + runsc)',
      cubby: [] as number[],
      raw: [] as number[],
    },
    net: { metric: 'network.allocate: netns, veth, nft (raw: ip netns + veth)', cubby: [] as number[], raw: [] as number[] },
    runsc: { metric: 'runsc restore -detach', cubby: [] as number[], raw: [] as number[] },
    hook: { metric: 'run hook call, the first request after restore (raw: first GET :8080)', cubby: [] as number[], raw: [] as number[] },
    get: { metric: 'gateway address lookup on its first request (runtime.get: runsc state)', cubby: [] as number[] },
  };
  let raw: RawRestorer | undefined;
  let rawFast: RawRestorer | undefined;
  let b: BenchDaemon | undefined;
  let warmHits = 0;
  let burstHits = 0;
  try {
    // ---- warm pool off
    b = await benchDaemon(0);
    const snapshot = b.version.snapshotPath ?? '';
    const fastSnapshot = (await b.image(UNTHROTTLED.name, UNTHROTTLED.memoryMiB)).snapshotPath ?? '';
    raw = await RawRestorer.open(path.join(work, 'raw'), snapshot);
    rawFast = await RawRestorer.open(path.join(work, 'raw-fast'), fastSnapshot);
    // Untimed first round: page cache and code paths warm for both sides.
    await terminate(b, [(await launchOnce(b, 'gateway')).id, (await launchOnce(b, 'gateway', UNTHROTTLED.name)).id]);
    for (const [r, s] of [
      [raw, snapshot],
      [rawFast, fastSnapshot],
    ] as const) {
      const c = await r.restore(s);
      await r.destroy(c.clone);
    }
    const phases = timeLaunchSteps(b);
    const directReps = Math.max(2, Math.ceil(reps / 2));
    for (let i = 0; i < reps + directReps; i++) {
      const gatewayFirst = i < reps;
      const l = await launchOnce(b, gatewayFirst ? 'gateway' : 'direct');
      rows.run.cubby.push(l.run);
      if (gatewayFirst) {
        rows.gw.cubby.push(l.run + l.gateway);
        rows.gwFirst.cubby.push(l.gateway);
      } else {
        rows.direct.cubby.push(l.run + l.direct);
        rows.directFirst.cubby.push(l.direct);
      }
      await terminate(b, [l.id]);
      if (i < reps) {
        const r = await raw.restore(snapshot);
        rows.run.raw.push(r.restoreMs);
        rows.gw.raw.push(r.ms);
        rows.direct.raw.push(r.ms);
        rows.warm.raw.push(r.ms);
        rows.burst.raw.push(r.ms);
        steps.core.raw.push(r.ms);
        steps.restore.raw.push(r.restoreMs);
        steps.net.raw.push(r.netnsMs);
        steps.runsc.raw.push(r.runscMs);
        steps.hook.raw.push(r.firstAnswerMs);
        await raw.destroy(r.clone);
      }
    }
    steps.core.cubby.push(...phases.get(CORE));
    steps.restore.cubby.push(...phases.get(RESTORE));
    steps.net.cubby.push(...phases.get(NET));
    steps.runsc.cubby.push(...phases.get(RUNSC));
    steps.hook.cubby.push(...phases.get('hook run'));
    steps.get.cubby.push(...phases.get(GET));
    phases.restore();
    // The same launch without CPU throttling: how much of it is the 0.25-vCPU quota.
    for (let i = 0; i < directReps; i++) {
      const l = await launchOnce(b, 'gateway', UNTHROTTLED.name);
      rows.fast.cubby.push(l.run + l.gateway);
      await terminate(b, [l.id]);
      const r = await rawFast.restore(fastSnapshot);
      rows.fast.raw.push(r.ms);
      await rawFast.destroy(r.clone);
    }
    await b.stop();
    b = undefined;

    // ---- warm pool on (2 clones per version)
    b = await benchDaemon(2);
    await terminate(b, [(await launchOnce(b, 'gateway')).id]); // creates the pool
    for (let i = 0; i < reps; i++) {
      await waitForPool(b, 2);
      await sleep(300); // let the refill's restore finish settling (its CPU would skew the launch)
      const pooled = new Set(b.d.core.launcher.pooledIds());
      const l = await launchOnce(b, 'gateway');
      if (pooled.has(l.id)) warmHits++;
      rows.warm.cubby.push(l.run + l.gateway);
      rows.warmRun.cubby.push(l.run);
      await terminate(b, [l.id]);
    }
    const bursts = Math.max(1, Math.round(reps / 5));
    for (let k = 0; k < bursts; k++) {
      await waitForPool(b, 2);
      await sleep(300);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const pooled = new Set(b.d.core.launcher.pooledIds());
        const l = await launchOnce(b, 'gateway');
        if (pooled.has(l.id)) burstHits++;
        ids.push(l.id);
        rows.burst.cubby.push(l.run + l.gateway);
      }
      await terminate(b, ids);
    }
  } finally {
    await b?.stop().catch((e: unknown) => console.error('bench daemon stop failed', e));
    await raw?.close();
    await rawFast?.close();
    await fs.rm(work, { recursive: true, force: true });
  }
  const out = Object.values(rows);
  printTable('Launch (RunMicrovm -> first HTTP 200) vs raw runsc restore of the same snapshot', out);
  console.log(
    `warm pool hits: ${warmHits}/${rows.warm.cubby.length} refilled launches, ${burstHits}/${rows.burst.cubby.length} back-to-back launches`,
  );
  printTable(
    'Launch, where the time goes (cold, warm pool off; each step once per launch; raw: the same step of the raw restore)',
    Object.values(steps),
  );
  printGoal('cold launch via gateway', rows.gw.cubby, rows.gw.raw, 1.15);
  printGoal('warm-pool launch via gateway p50', rows.warm.cubby, undefined, 100);
  return [...out, ...Object.values(steps)];
}
