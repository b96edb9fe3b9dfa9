/**
 * Code-interpreter figures (issue 12) with the real `@e2b/code-interpreter` against a real daemon,
 * header routing: Sandbox.create() -> the first runCode('1+1') result, cold and from the warm
 * pool, beside raw runsc restoring the same `code-interpreter-v1` snapshot into a fresh netns plus
 * one /execute straight to the service; a cell that imports pandas and plots a chart, end to end;
 * what an idle interpreter sandbox costs (memory, checkpoint) and how many this host holds.
 */
import http from 'node:http';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sandbox } from '@e2b/code-interpreter';
import { ensureTestBaseImage } from '../test/support/base-image.js';
import { newSandboxId } from '../src/runtime/gvisor/index.js';
import { MANIFEST, type CheckpointManifest } from '../src/runtime/gvisor/checkpoint-manifest.js';
import { DISK_OVERLAY } from '../src/runtime/gvisor/sandbox-disk.js';
import { DEFAULT_DISK_BYTES } from '../src/runtime/gvisor/runtime.js';
import { RawRunsc } from './support/raw-runsc.js';
import { e2bDaemon, endE2bBench, sdkOpts, untilPoolRefilled, type E2bCtx, type RawClone } from './support/e2b-bench.js';
import { cgroupUsage, cubbyCgroup, freeDiskBytes, memAvailableBytes } from './support/proc-usage.js';
import { median, printGoal, printTable, timed, type Row } from './support/stats.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TEMPLATE = 'code-interpreter-v1';
const PORT = 49999;
const MiB = 2 ** 20;
const PLOT_CELL = [
  'import numpy as np, pandas as pd, matplotlib.pyplot as plt',
  'df = pd.DataFrame({"x": np.arange(200), "y": np.random.default_rng(1).normal(size=200).cumsum()})',
  'df.plot(x="x", y="y", figsize=(6, 4))',
  'plt.show()',
].join('\n');

/** Sandbox.create() to the first runCode('1+1') result; the sandbox is killed afterwards (untimed). */
async function createToFirstCell(c: E2bCtx, requestTimeoutMs = 120_000): Promise<number> {
  const t0 = performance.now();
  const s = await Sandbox.create({ ...sdkOpts(c), requestTimeoutMs, timeoutMs: 300_000 });
  const r = await s.runCode('1+1');
  const ms = performance.now() - t0;
  await Sandbox.kill(s.sandboxId, sdkOpts(c));
  if (r.text !== '2') throw new Error(`1+1 answered ${JSON.stringify(r.text ?? r.error)}`);
  return ms;
}

/** One POST /execute of `1+1` straight to the service (no gateway); resolves when the cell ended. */
function executeDirect(host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ code: '1+1' });
    const req = http.request(
      {
        host,
        port: PORT,
        path: '/execute',
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        let text = '';
        res.on('data', (b: Buffer) => (text += b.toString()));
        res.on('end', () =>
          res.statusCode === 200 && /"text": "2"/.test(text) ? resolve() : reject(new Error(`direct /execute: ${res.statusCode} ${text}`)),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The floor: raw runsc restores the template's snapshot (same spec, agent mount, disk overlay). */
class RawInterpreter {
  private constructor(
    readonly raw: RawRunsc,
    private readonly m: CheckpointManifest,
    private readonly snapshot: string,
  ) {}
  static async open(workDir: string, snapshot: string): Promise<RawInterpreter> {
    const m = JSON.parse(await fs.readFile(path.join(snapshot, MANIFEST), 'utf8')) as CheckpointManifest;
    return new RawInterpreter(new RawRunsc(workDir, m.rootfs), m, snapshot);
  }
  /** netns + bundle + runsc restore + one /execute; the clone is recorded in `live` first. */
  async restoreAndRun(live: RawClone[]): Promise<RawClone> {
    const id = newSandboxId();
    const { ns, idx } = await this.raw.netns();
    const clone = { id, ns, idx };
    live.push(clone);
    const bundle = await this.raw.bundle(id, ns, this.m.process, {
      limits: this.m.limits,
      hostname: this.m.hostname,
      ...(this.m.mounts ? { mounts: this.m.mounts } : {}),
    } as Parameters<RawRunsc['bundle']>[3]);
    if (this.m.overlay === DISK_OVERLAY) this.raw.useOverlay(id, await this.raw.disk(id, this.m.limits?.diskBytes ?? DEFAULT_DISK_BYTES));
    await this.raw.restore(id, bundle, this.snapshot);
    const host = this.raw.address(idx);
    for (let i = 0; ; i++) {
      try {
        await executeDirect(host);
        break;
      } catch (e) {
        if (i > 500) throw e;
        await sleep(2);
      }
    }
    return clone;
  }
}

export async function codeInterpreterBench(reps = 8): Promise<Row[]> {
  await ensureTestBaseImage('debian-12-code-interpreter');
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-bench-ci-'));
  const rows = {
    cold: {
      metric: "cold: Sandbox.create() -> first runCode('1+1') (raw: netns + runsc restore + one /execute)",
      cubby: [] as number[],
      raw: [] as number[],
    },
    warm: { metric: "warm pool: Sandbox.create() -> first runCode('1+1')", cubby: [] as number[], goal: 'p50 < 300 ms' },
    plot: { metric: 'runCode: import pandas, build a DataFrame, plot it (PNG back)', cubby: [] as number[] },
    mem: { metric: 'idle interpreter sandbox: memory (cgroup rss+shmem)', cubby: [] as number[], unit: 'MiB' },
    pss: { metric: 'idle interpreter sandbox: PSS of its runsc processes', cubby: [] as number[], unit: 'MiB' },
    ckpt: { metric: 'checkpoint of an idle interpreter (the template snapshot, memory file)', cubby: [] as number[], unit: 'MiB' },
    fitRunning: { metric: 'idle RUNNING interpreters this host holds (MemAvailable / PSS)', cubby: [] as number[], unit: 'count' },
    fitPaused: { metric: 'PAUSED interpreters this host holds (free disk / checkpoint)', cubby: [] as number[], unit: 'count' },
  };
  let c: E2bCtx | undefined;
  let raw: RawInterpreter | undefined;
  const rawLive: RawClone[] = [];
  let live: string | undefined;
  try {
    c = await e2bDaemon('ci-bench', 0);
    // Untimed: builds the tenant's code-interpreter-v1 (kernels warmed in its snapshot).
    const [buildMs] = await timed(() => createToFirstCell(c!, 900_000));
    console.log(`\n(first Sandbox.create() built ${TEMPLATE}: ${(buildMs / 1000).toFixed(1)} s)`);
    const img = await c.d.store.getImageByName(c.tenantId, TEMPLATE);
    const version = img && (await c.d.store.getVersion(c.tenantId, img.id, '1.0'));
    if (!img || !version?.snapshotPath) throw new Error(`${TEMPLATE} has no snapshot`);
    raw = await RawInterpreter.open(path.join(work, 'raw'), version.snapshotPath);
    const warmup = await raw.restoreAndRun(rawLive);
    await raw.raw.destroy(warmup.id, warmup.ns, warmup.idx);
    rawLive.pop();

    for (let i = 0; i < reps; i++) {
      rows.cold.cubby.push(await createToFirstCell(c));
      const [ms, clone] = await timed(() => raw!.restoreAndRun(rawLive));
      rows.cold.raw.push(ms);
      await raw.raw.destroy(clone.id, clone.ns, clone.idx);
      rawLive.pop();
    }

    // One sandbox: the plotting cell, then its idle cost.
    const s = await Sandbox.create({ ...sdkOpts(c), timeoutMs: 600_000 });
    live = s.sandboxId;
    for (let i = 0; i < Math.max(3, Math.ceil(reps / 2)); i++) {
      const [ms, r] = await timed(() => s.runCode(PLOT_CELL));
      if (!r.results.some((x) => x.png))
        throw new Error(`the plot cell gave no PNG: ${JSON.stringify(r.error ?? r.results.map((x) => x.formats()))}`);
      rows.plot.cubby.push(ms);
    }
    await s.restartCodeContext((await s.listCodeContexts()).find((x) => x.language === 'python')!.id).catch(() => undefined);
    const fresh = await Sandbox.create({ ...sdkOpts(c), timeoutMs: 600_000 });
    await fresh.runCode('1+1');
    await sleep(10_000);
    const u = await cgroupUsage(await cubbyCgroup(fresh.sandboxId));
    rows.mem.cubby.push(u.memBytes / MiB);
    rows.pss.cubby.push(u.pssBytes / MiB);
    await Sandbox.kill(fresh.sandboxId, sdkOpts(c));
    const builds = await c.d.store.listBuilds(c.tenantId, img.id, '1.0');
    const ck = builds.items.find((b) => b.memorySnapshotBytes)?.memorySnapshotBytes ?? 0;
    rows.ckpt.cubby.push(ck / MiB);
    rows.fitRunning.cubby.push(Math.floor((await memAvailableBytes()) / u.pssBytes));
    rows.fitPaused.cubby.push(ck ? Math.floor((await freeDiskBytes(c.d.config.dataDir)) / ck) : 0);
    await Sandbox.kill(s.sandboxId, sdkOpts(c));
    live = undefined;
    const prev = c;
    await c.d.stop();
    c = undefined;

    // Warm pool: a daemon on the same data directory with a pool of 1.
    c = await e2bDaemon('ci-bench', 1, prev);
    await createToFirstCell(c);
    for (let i = 0; i < reps; i++) {
      await untilPoolRefilled(c, 120_000);
      rows.warm.cubby.push(await createToFirstCell(c));
    }
  } catch (e) {
    console.error('code-interpreter bench failed:', e);
    throw e;
  } finally {
    await endE2bBench(c, live, raw?.raw, rawLive, work);
  }
  const out = Object.values(rows) as Row[];
  printTable('Code interpreter (@e2b/code-interpreter, header routing)', out);
  printGoal("warm create -> first runCode('1+1') p50", rows.warm.cubby, undefined, 300);
  console.log(`cold create -> first cell p50 ${median(rows.cold.cubby).toFixed(0)} ms vs floor ${median(rows.cold.raw).toFixed(0)} ms`);
  return out;
}
