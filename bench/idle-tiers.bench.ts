/**
 * The idle tiers (issue 13): the frozen tier's auto-resume (a gateway request to a microVM frozen
 * while idle, until its 200) beside its floor (a raw cgroup thaw of the same sandbox plus one
 * request straight to it); the CPU a frozen sandbox burns beside an idle unfrozen one; how many
 * idle microVMs this host holds responsive (measured on N of them, extrapolated from memory per
 * frozen microVM); and the disk tier's resume beside raw runsc restoring the same checkpoint.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunMicrovmCommand, TerminateMicrovmCommand } from '@aws-sdk/client-lambda-microvms';
import { withCubbyMembers } from '../src/client/cubby-members.js';
import { benchDaemon, IMAGE, type BenchDaemon } from './support/cubby-fixture.js';
import { gatewayProbe, untilOk } from './support/http-probe.js';
import { cgroupUsage, cubbyCgroup, memAvailableBytes } from './support/proc-usage.js';
import { RawRestorer } from './support/raw-restore.js';
import { median, percentile, printGoal, printTable, type Row } from './support/stats.js';

const MiB = 2 ** 20;
const CG = '/sys/fs/cgroup';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = performance.now() + ms;
  while (!(await fn())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Launches a counter microVM whose own idle policy freezes it after `freezeAfter` s (0: never). */
async function launch(b: BenchDaemon, freezeAfter: number, ids: string[]): Promise<string> {
  const idlePolicy = {
    maxIdleDurationSeconds: 3600,
    suspendedDurationSeconds: 3600,
    autoResumeEnabled: true,
    cubbyFreezeAfterSeconds: freezeAfter,
  };
  const m = await b.client.send(withCubbyMembers(new RunMicrovmCommand({ imageIdentifier: IMAGE, idlePolicy }), { idlePolicy }));
  if (!m.microvmId || m.state !== 'RUNNING') throw new Error(`RunMicrovm answered ${m.state}`);
  ids.push(m.microvmId);
  return m.microvmId;
}

const frozenNow = async (id: string) =>
  (await fs.readFile(path.join(CG, 'freezer', await cubbyCgroup(id), 'freezer.state'), 'utf8')).trim() === 'FROZEN';

export async function idleTiersBench(reps = 10, n = Number(process.env.CUBBY_BENCH_TIERS_N ?? 20)): Promise<Row[]> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-bench-tiers-'));
  const ids: string[] = [];
  const thaw: number[] = [];
  const rawThaw: number[] = [];
  const frozenCpu: number[] = [];
  const idleCpu: number[] = [];
  const manyThaw: number[] = [];
  const frozenMem: number[] = [];
  const frozenPss: number[] = [];
  const disk: number[] = [];
  const rawDisk: number[] = [];
  let memAvailable = 0;
  let b: BenchDaemon | undefined;
  let raw: RawRestorer | undefined;
  try {
    b = await benchDaemon(0);
    const bd = b;
    const tiers = b.d.core.manager.tiers;
    const probe = async (id: string) => gatewayProbe(bd.d.gatewayPort, bd.d.config.domain, id, await bd.token(id), '/state');

    // 1. Frozen-tier auto-resume beside a raw thaw of the same sandbox + one direct request.
    const a = await launch(b, 1, ids);
    const awake = await launch(b, 0, ids);
    const pa = await probe(a);
    const direct = { host: await b.address(a), port: 8080, path: '/state' };
    const freezer = path.join(CG, 'freezer', await cubbyCgroup(a), 'freezer.state');
    await untilOk(pa);
    for (let i = -1; i < reps; i++) {
      await until('frozen', () => tiers.isFrozen(a) && frozenNow(a));
      const t = await untilOk(pa);
      await until('frozen again', () => tiers.isFrozen(a) && frozenNow(a));
      const t0 = performance.now();
      await fs.writeFile(freezer, 'THAWED');
      await untilOk(direct);
      const tRaw = performance.now() - t0;
      await untilOk(pa); // Cubby's thaw (a no-op now) so its tier knows the sandbox runs again
      if (i < 0) continue;
      thaw.push(t);
      rawThaw.push(tRaw);
    }

    // 2. Idle CPU: the frozen sandbox beside one never frozen, over the same 5 s.
    await until('frozen', () => tiers.isFrozen(a) && frozenNow(a));
    const cgA = await cubbyCgroup(a);
    const cgB = await cubbyCgroup(awake);
    const [fa, fb] = [await cgroupUsage(cgA), await cgroupUsage(cgB)];
    const t0 = performance.now();
    await sleep(5000);
    const secs = (performance.now() - t0) / 1000;
    frozenCpu.push(((await cgroupUsage(cgA)).cpuNs - fa.cpuNs) / 1e6 / secs);
    idleCpu.push(((await cgroupUsage(cgB)).cpuNs - fb.cpuNs) / 1e6 / secs);
    await b.client.send(new TerminateMicrovmCommand({ microvmIdentifier: awake }));

    // 3. N idle microVMs, all frozen: memory each, and each one's first request (thaw) in turn.
    const many: string[] = [a];
    for (let i = 1; i < n; i++) many.push(await launch(b, 1, ids));
    for (const id of many) await untilOk(await probe(id));
    await until('all frozen', async () => (await Promise.all(many.map(frozenNow))).every(Boolean), 60_000);
    for (const id of many) {
      const u = await cgroupUsage(await cubbyCgroup(id));
      frozenMem.push(u.memBytes / MiB);
      frozenPss.push(u.pssBytes / MiB);
    }
    memAvailable = await memAvailableBytes();
    const probes = await Promise.all(many.map(probe));
    for (const p of probes) manyThaw.push(await untilOk(p));
    for (const id of many.slice(1)) await b.client.send(new TerminateMicrovmCommand({ microvmIdentifier: id }));

    // 4. Disk tier: the frozen microVM written to disk (as under memory pressure), then resumed
    // by a gateway request, beside raw runsc restoring the same checkpoint to its first 200.
    for (let i = -1; i < Math.max(3, Math.ceil(reps / 2)); i++) {
      await until('frozen', () => tiers.isFrozen(a) && frozenNow(a));
      await tiers.toDisk(a, 'bench: written to disk');
      const ck = (await b.d.store.getMicrovmAny(a))?.checkpointPath;
      if (!ck) throw new Error('the frozen microVM was not written to disk');
      raw ??= await RawRestorer.open(path.join(work, 'raw'), ck);
      const r = await raw.restore(ck);
      await raw.destroy(r.clone);
      await sleep(200);
      const t = await untilOk(pa);
      if (i < 0) continue;
      disk.push(t);
      rawDisk.push(r.ms);
    }
  } finally {
    await raw?.close().catch(() => undefined);
    for (const id of ids) await b?.client.send(new TerminateMicrovmCommand({ microvmIdentifier: id })).catch(() => undefined);
    await b?.stop().catch((e: unknown) => console.error('bench daemon stop failed', e));
    await fs.rm(work, { recursive: true, force: true });
  }
  // Held responsive = frozen (0 CPU, so CPU is no bound) and thawed within 100 ms; memory bounds
  // how many: what the host still had free with N frozen, over memory per frozen microVM.
  const perFrozen = median(frozenMem) * MiB;
  const heldResponsive = n + Math.floor((memAvailable - 1024 * MiB) / perFrozen);
  const out: Row[] = [
    {
      metric: 'frozen tier auto-resume: gateway request -> 200 (raw: cgroup thaw of the same sandbox + one direct request)',
      cubby: thaw,
      raw: rawThaw,
      goal: '< 50 ms and <= 1.3x raw',
    },
    {
      metric: 'idle CPU of a frozen sandbox (raw: the same app idle, never frozen)',
      cubby: frozenCpu,
      raw: idleCpu,
      unit: 'ms/s',
      goal: '< 1 ms/s',
    },
    { metric: `${n} frozen microVMs: each one's first request (thaw) -> 200`, cubby: manyThaw, goal: 'p95 < 100 ms' },
    { metric: 'memory per frozen microVM (cgroup rss + shmem)', cubby: frozenMem, unit: 'MiB' },
    { metric: 'memory per frozen microVM (PSS)', cubby: frozenPss, unit: 'MiB' },
    {
      metric: 'disk tier resume: gateway request -> 200 (raw: runsc restore of the same checkpoint -> first 200)',
      cubby: disk,
      raw: rawDisk,
      goal: '<= 1.15x raw',
    },
  ];
  printTable('Idle tiers: frozen in memory (cgroup freezer), then disk', out);
  printGoal('frozen-tier auto-resume p50', thaw, undefined, 50);
  printGoal('frozen-tier auto-resume', thaw, rawThaw, 1.3);
  printGoal('idle CPU of a frozen sandbox', frozenCpu, undefined, 1, 'ms/s');
  printGoal(`${n} frozen microVMs, first request p95`, [percentile(manyThaw, 95)], undefined, 100);
  printGoal('disk-tier resume', disk, rawDisk, 1.15);
  console.log(
    `- idle microVMs held responsive (< 100 ms): measured ${n}; extrapolated from memory ${heldResponsive} ` +
      `(${(memAvailable / MiB).toFixed(0)} MiB still available with ${n} frozen, less the 1024 MiB watermark, / ` +
      `${(perFrozen / MiB).toFixed(1)} MiB each; frozen ones use no CPU; RUNNING ones count toward --max-active) -> ` +
      `${heldResponsive >= 500 ? 'goal >= 500 met' : 'goal >= 500 MISSED'}`,
  );
  return out;
}
