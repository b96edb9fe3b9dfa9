/**
 * Density figures: what an idle RUNNING microVM and a SUSPENDED one cost this host (memory,
 * CPU, disk), beside the same number of raw runsc sandboxes of the same snapshot, and the
 * capacity that extrapolates to. Each side is measured alone (the other holds no sandbox).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SuspendMicrovmCommand } from '@aws-sdk/client-lambda-microvms';
import { benchDaemon, type BenchDaemon } from './support/cubby-fixture.js';
import { cgroupExists, cgroupUsage, cubbyCgroup, diskBytes, freeDiskBytes, memAvailableBytes, type Usage } from './support/proc-usage.js';
import { RawRestorer, type RawClone } from './support/raw-restore.js';
import { median, printTable, timed, type Row } from './support/stats.js';

const MiB = 2 ** 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Idle {
  memMiB: number[];
  pssMiB: number[];
  cpuMsPerS: number[];
  procs: number[];
}

/** Memory after settling, and CPU over `windowMs` of idleness, per cgroup. */
async function measureIdle(cgroups: string[], windowMs: number): Promise<Idle> {
  const before: Usage[] = [];
  for (const cg of cgroups) before.push(await cgroupUsage(cg));
  const t0 = performance.now();
  await sleep(windowMs);
  const seconds = (performance.now() - t0) / 1000;
  const out: Idle = { memMiB: [], pssMiB: [], cpuMsPerS: [], procs: [] };
  for (const [i, cg] of cgroups.entries()) {
    const u = await cgroupUsage(cg);
    out.memMiB.push(u.memBytes / MiB);
    out.pssMiB.push(u.pssBytes / MiB);
    out.cpuMsPerS.push((u.cpuNs - (before[i]?.cpuNs ?? 0)) / 1e6 / seconds);
    out.procs.push(u.procs);
  }
  return out;
}

export async function densityBench(n = 10, idleWindowMs = 10_000): Promise<Row[]> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-bench-density-'));
  const memAvailable = await memAvailableBytes();
  const cores = os.cpus().length;
  let b: BenchDaemon | undefined;
  let raw: RawRestorer | undefined;
  let cubby: Idle | undefined;
  let rawIdle: Idle | undefined;
  const launchMs: number[] = [];
  const rawLaunchMs: number[] = [];
  const suspendMs: number[] = [];
  const rawSuspendMs: number[] = [];
  const ckMiB: number[] = [];
  const rawCkMiB: number[] = [];
  let leftProcs = 0;
  let daemonMsPerS = NaN;
  let freeDisk = 0;
  try {
    b = await benchDaemon(0);
    freeDisk = await freeDiskBytes(b.d.dataDir);
    // ---- Cubby: n idle RUNNING microVMs, then the same n SUSPENDED
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const [ms, id] = await timed(() => b!.run());
      launchMs.push(ms);
      ids.push(id);
    }
    const cgroups = await Promise.all(ids.map(cubbyCgroup));
    await sleep(3000); // restore and run-hook work settles
    cubby = await measureIdle(cgroups, idleWindowMs);
    for (const id of ids) {
      suspendMs.push((await timed(() => b!.client.send(new SuspendMicrovmCommand({ microvmIdentifier: id }))))[0]);
      const ck = (await b.d.store.getMicrovmAny(id))?.checkpointPath;
      if (!ck) throw new Error(`microVM ${id} has no checkpoint after suspend`);
      ckMiB.push((await diskBytes(ck)) / MiB);
    }
    for (const cg of cgroups) if (await cgroupExists(cg)) leftProcs += (await cgroupUsage(cg)).procs;
    // With every microVM suspended, what is left is the daemon (policy clock, store).
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(5000);
    const cpu = process.cpuUsage(cpu0);
    daemonMsPerS = (cpu.user + cpu.system) / 1000 / ((performance.now() - t0) / 1000);
    const snapshot = b.version.snapshotPath ?? '';
    await b.stop();
    b = undefined;

    // ---- raw runsc: n sandboxes restored from the same snapshot, idle, then checkpointed
    raw = await RawRestorer.open(path.join(work, 'raw'), snapshot);
    const clones: RawClone[] = [];
    for (let i = 0; i < n; i++) {
      const r = await raw.restore(snapshot);
      rawLaunchMs.push(r.ms);
      clones.push(r.clone);
    }
    await sleep(3000);
    rawIdle = await measureIdle(
      clones.map((c) => `cubby-raw/${c.id}`),
      idleWindowMs,
    );
    for (const [i, c] of clones.entries()) {
      const dir = path.join(work, `ck-${i}`);
      rawSuspendMs.push(
        (
          await timed(async () => {
            await raw!.checkpoint(c, dir);
            await raw!.destroy(c);
          })
        )[0],
      );
      rawCkMiB.push((await diskBytes(dir)) / MiB);
    }
  } finally {
    await b?.stop().catch((e: unknown) => console.error('bench daemon stop failed', e));
    await raw?.close();
    await fs.rm(work, { recursive: true, force: true });
  }
  if (!cubby || !rawIdle) throw new Error('density measurements missing');
  const rows: Row[] = [
    { metric: `launch while filling up to ${n} (RunMicrovm; raw: restore -> first 200)`, cubby: launchMs, raw: rawLaunchMs },
    { metric: 'idle RUNNING: memory per microVM (cgroup anon + shmem)', cubby: cubby.memMiB, raw: rawIdle.memMiB, unit: 'MiB' },
    { metric: 'idle RUNNING: PSS per microVM (sentry + gofer + stubs)', cubby: cubby.pssMiB, raw: rawIdle.pssMiB, unit: 'MiB' },
    {
      metric: `idle RUNNING: CPU per microVM (over ${idleWindowMs / 1000} s)`,
      cubby: cubby.cpuMsPerS,
      raw: rawIdle.cpuMsPerS,
      unit: 'ms/s',
    },
    { metric: 'suspend (SuspendMicrovm; raw: checkpoint + delete)', cubby: suspendMs, raw: rawSuspendMs },
    { metric: 'SUSPENDED: disk per microVM (checkpoint, allocated)', cubby: ckMiB, raw: rawCkMiB, unit: 'MiB' },
    { metric: `SUSPENDED: sandbox processes left for all ${n}`, cubby: [leftProcs], unit: '' },
    { metric: `daemon process CPU with ${n} SUSPENDED (policy clock etc.)`, cubby: [daemonMsPerS], unit: 'ms/s' },
  ];
  printTable(`Density: ${n} idle microVMs of the counter app, RUNNING then SUSPENDED, vs ${n} raw runsc sandboxes`, rows);
  const memCap = (pss: number[]) => memAvailable / MiB / median(pss);
  const cpuCap = (cpu: number[]) => (cores * 1000) / median(cpu);
  const capacity: Row[] = [
    {
      metric: `idle RUNNING, memory-bound (MemAvailable ${(memAvailable / 2 ** 30).toFixed(1)} GiB / PSS)`,
      cubby: [memCap(cubby.pssMiB)],
      raw: [memCap(rawIdle.pssMiB)],
      unit: 'microVMs',
    },
    {
      metric: `idle RUNNING, CPU-bound (${cores} cores fully spent on idling)`,
      cubby: [cpuCap(cubby.cpuMsPerS)],
      raw: [cpuCap(rawIdle.cpuMsPerS)],
      unit: 'microVMs',
    },
    {
      metric: `SUSPENDED, disk-bound (free ${(freeDisk / 2 ** 30).toFixed(1)} GiB / checkpoint)`,
      cubby: [freeDisk / MiB / median(ckMiB)],
      raw: [freeDisk / MiB / median(rawCkMiB)],
      unit: 'microVMs',
    },
  ];
  printTable('Density, extrapolated capacity of this host', capacity);
  return [...rows, ...capacity];
}
