/**
 * E2B figures (issue 11) with the real `e2b` SDK against a real daemon, header routing:
 * Sandbox.create() -> the first commands.run('echo hi') result, cold and from the warm pool,
 * beside raw runsc restoring the same `base` snapshot into a fresh netns plus one `runsc exec`;
 * the commands.run round trip beside `runsc exec`; a 10 MiB upload and download through the
 * gateway beside the same request straight to the agent (from a client process of its own); pause and connect (resume) latency; and
 * what the agent costs an app: the same counter app built with and without `cubbyAgent`, its
 * checkpoint size and its auto-resume to the first answer.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from 'e2b';
import type { TestDaemon } from '../test/support/daemon.js';
import { ensureTestBaseImage } from '../test/support/base-image.js';
import { newSandboxId } from '../src/runtime/gvisor/index.js';
import { MANIFEST, type CheckpointManifest } from '../src/runtime/gvisor/checkpoint-manifest.js';
import { RawRunsc } from './support/raw-runsc.js';
import { e2bDaemon, endE2bBench, sdkOpts, untilPoolRefilled, type E2bCtx, type RawClone } from './support/e2b-bench.js';
import { RunMicrovmCommand, SuspendMicrovmCommand, TerminateMicrovmCommand } from '@aws-sdk/client-lambda-microvms';
import { buildCounterImage, waitForState } from '../test/e2e/support.js';
import { gatewayProbe, untilOk } from './support/http-probe.js';
import { runWorker } from './support/load.js';
import type { FileRoundResult, FileRoundSpec } from './support/file-round-worker.js';
import { printGoal, printGoalMinRatio, printTable, timed, type Row } from './support/stats.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ENVD = 49983;
const MiB = 1024 * 1024;
const FILE_WORKER = fileURLToPath(new URL('./support/file-round-worker.js', import.meta.url));

/** Sandbox.create() to the first `echo hi` result; the sandbox is killed afterwards (untimed). */
async function createToFirstRun(c: E2bCtx): Promise<number> {
  const t0 = performance.now();
  const s = await Sandbox.create({ ...sdkOpts(c), timeoutMs: 300_000 });
  const r = await s.commands.run('echo hi');
  const ms = performance.now() - t0;
  await Sandbox.kill(s.sandboxId, sdkOpts(c));
  if (r.stdout !== 'hi\n') throw new Error(`echo hi answered ${JSON.stringify(r.stdout)}`);
  return ms;
}

/** The floor: raw runsc restores the same snapshot (same spec, agent mount) and runs one exec. */
class RawAgent {
  private constructor(
    readonly raw: RawRunsc,
    readonly m: CheckpointManifest,
    readonly snapshot: string,
  ) {}
  static async open(workDir: string, snapshot: string): Promise<RawAgent> {
    const m = JSON.parse(await fs.readFile(path.join(snapshot, MANIFEST), 'utf8')) as CheckpointManifest;
    const raw = new RawRunsc(workDir, m.rootfs);
    // Restore needs the checkpoint's overlay medium: a sandbox disk's upper layer lives in a
    // directory (a plain one here: the floor has no loop-mounted disk).
    if (m.overlay === 'root:dir') {
      const dir = path.join(workDir, 'overlay');
      await fs.mkdir(dir, { recursive: true });
      raw.flags.splice(raw.flags.indexOf('--overlay2=root:memory'), 1, `--overlay2=root:dir=${dir}`);
    }
    return new RawAgent(raw, m, snapshot);
  }
  /** netns + bundle + runsc restore; the clone is recorded in `live` before anything can fail. */
  async restore(live: RawClone[]): Promise<RawClone> {
    const id = newSandboxId();
    const { ns, idx } = await this.raw.netns();
    live.push({ id, ns, idx });
    const bundle = await this.raw.bundle(id, ns, this.m.process, {
      limits: this.m.limits,
      hostname: this.m.hostname,
      ...(this.m.mounts ? { mounts: this.m.mounts } : {}),
    } as Parameters<RawRunsc['bundle']>[3]);
    await this.raw.restore(id, bundle, this.snapshot);
    return { id, ns, idx };
  }
  exec(id: string): Promise<void> {
    return this.raw.exec(id, ['/bin/echo', 'hi']);
  }
}

/**
 * One `Process.Start` of `bash -l -c 'echo hi'` (what commands.run sends) read to its end, posted
 * to `base` (the agent itself, or the gateway with routing headers): the round trip without the SDK.
 */
async function agentStart(base: string, headers: Record<string, string>): Promise<void> {
  const msg = Buffer.from(JSON.stringify({ process: { cmd: '/bin/bash', args: ['-l', '-c', 'echo hi'], envs: {} }, stdin: false }));
  const body = Buffer.alloc(5 + msg.length);
  body.writeUInt32BE(msg.length, 1);
  msg.copy(body, 5);
  const r = await fetch(`${base}/process.Process/Start`, {
    method: 'POST',
    headers: {
      ...headers,
      'Content-Type': 'application/connect+json',
      'Connect-Protocol-Version': '1',
      Authorization: `Basic ${Buffer.from('user:').toString('base64')}`,
    },
    body,
  });
  const out = Buffer.from(await r.arrayBuffer()).toString();
  // The JSON codec carries bytes as base64: "hi\n" is aGkK; the end event carries the exit code.
  if (r.status !== 200 || !out.includes('aGkK') || !out.includes('"end"'))
    throw new Error(`Process.Start answered ${r.status}: ${out.slice(0, 300)}`);
}

function sandboxAddress(c: E2bCtx, id: string): Promise<string> {
  return fs
    .readFile(path.join(c.d.config.dataDir, 'runtime', 'sandboxes', id, 'meta.json'), 'utf8')
    .then((s) => (JSON.parse(s) as { network?: { sandboxAddress?: string } }).network?.sandboxAddress ?? '');
}

/** The file rounds, run by their own process (support/file-round-worker.ts says why). */
function fileRounds(spec: FileRoundSpec): Promise<FileRoundResult> {
  return runWorker<FileRoundResult>(FILE_WORKER, spec, 300_000);
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) n += (await fs.stat(path.join(e.parentPath ?? e.path, e.name))).size;
  return n;
}

const COUNTER_HOOKS = {
  port: 9000,
  microvmHooks: { run: 'ENABLED', resume: 'ENABLED', suspend: 'ENABLED', terminate: 'ENABLED' },
  microvmImageHooks: { ready: 'ENABLED', readyTimeoutInSeconds: 60, validate: 'ENABLED' },
} as const;

/**
 * The agent's cost to an app: the counter app built plain and with the agent (the same settings
 * plus `agent`), each suspended and auto-resumed by a gateway request `reps` times: checkpoint
 * MiB and resume -> first 200 ms, with the agent in the cubby column and without it in raw.
 */
async function agentCost(d: TestDaemon, work: string, reps: number): Promise<{ ck: Row; resume: Row }> {
  const t = await d.tenant('agent-cost');
  const caller = { tenant: t.tenant };
  // 2048 MiB as `base`: the sandbox's default RLIMIT_AS (3/4 of its memory) must hold the Go
  // runtime's initial address-space reservation (~600 MiB), or the agent cannot start.
  await buildCounterImage(t.client, work, { name: 'counter-plain', hooks: COUNTER_HOOKS, resources: [{ minimumMemoryInMiB: 2048 }] });
  const plain = await d.store.getImageByName(t.tenantId, 'counter-plain');
  const pv = plain && (await d.store.getVersion(t.tenantId, plain.id, '1.0'));
  if (!pv) throw new Error('counter-plain has no version');
  await d.core.services.images.create(caller, { name: 'counter-agent', settings: { ...pv.settings, agent: true } });
  for (const deadline = Date.now() + 600_000; ;) {
    const img = await d.core.services.images.get(caller, 'counter-agent');
    if (img.latestActiveVersion) break;
    if (img.state === 'CREATE_FAILED' || Date.now() > deadline) throw new Error(`counter-agent did not build (${img.state})`);
    await sleep(200);
  }
  const ck = {
    metric: 'checkpoint of the counter app: with the agent (raw: without)',
    cubby: [] as number[],
    raw: [] as number[],
    unit: 'MiB',
    goal: '+<= 10 %',
  };
  const resume = {
    metric: 'counter app auto-resume -> first 200: with the agent (raw: without)',
    cubby: [] as number[],
    raw: [] as number[],
    goal: '+<= 10 %',
  };
  for (const [image, into] of [
    ['counter-agent', 'cubby'],
    ['counter-plain', 'raw'],
  ] as const) {
    const m = await t.client.send(
      new RunMicrovmCommand({
        imageIdentifier: image,
        idlePolicy: { maxIdleDurationSeconds: 3600, suspendedDurationSeconds: 3600, autoResumeEnabled: true },
      }),
    );
    const id = m.microvmId ?? '';
    try {
      const token = (await d.core.services.tokens.createAuthToken(caller, id, 30, [{ from: 8080, to: 8080 }])).token;
      const probe = gatewayProbe(d.gatewayPort, d.config.domain, id, token, '/');
      for (let i = -1; i < reps; i++) {
        await untilOk(probe);
        await t.client.send(new SuspendMicrovmCommand({ microvmIdentifier: id }));
        await waitForState(t.client, id, ['SUSPENDED']);
        const path_ = (await d.store.getMicrovmAny(id))?.checkpointPath;
        if (!path_) throw new Error('suspended microVM has no checkpoint');
        const bytes = await dirBytes(path_);
        await sleep(200);
        const ms = await untilOk(probe);
        if (i < 0) continue;
        ck[into].push(bytes / MiB);
        resume[into].push(ms);
      }
    } finally {
      await t.client.send(new TerminateMicrovmCommand({ microvmIdentifier: id })).catch(() => undefined);
    }
  }
  return { ck, resume };
}

export async function e2bBench(reps = 10): Promise<Row[]> {
  await ensureTestBaseImage('debian-12-e2b');
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-bench-e2b-'));
  const rows = {
    cold: {
      metric: 'cold: Sandbox.create() -> first commands.run("echo hi") (raw: netns + runsc restore + runsc exec)',
      cubby: [] as number[],
      raw: [] as number[],
      goal: '<= 1.15x raw',
    },
    warm: { metric: 'warm pool: Sandbox.create() -> first commands.run("echo hi")', cubby: [] as number[], goal: 'p50 < 150 ms' },
    rtt: {
      metric: 'commands.run("echo hi") round trip (raw: runsc exec /bin/echo hi)',
      cubby: [] as number[],
      raw: [] as number[],
      goal: 'p50 < 10 ms',
    },
    // Where the round trip goes: the same Process.Start without the SDK, via the gateway and straight to the agent.
    rttGateway: { metric: 'Process.Start("echo hi") through the gateway, header routing (no SDK)', cubby: [] as number[] },
    rttDirect: { metric: 'Process.Start("echo hi") straight to the agent (no gateway, no SDK)', cubby: [] as number[] },
    up: {
      metric: '10 MiB upload: via gateway (raw column: straight to the agent)',
      cubby: [] as number[],
      raw: [] as number[],
      unit: 'MiB/s',
      goal: '>= 0.8x',
    },
    down: {
      metric: '10 MiB download: via gateway (raw column: straight to the agent)',
      cubby: [] as number[],
      raw: [] as number[],
      unit: 'MiB/s',
      goal: '>= 0.8x',
    },
    pause: { metric: 'sandbox.pause() (checkpoint, memory kept)', cubby: [] as number[] },
    // Filled by agentCost.
    agentCk: undefined as Row | undefined,
    agentResume: undefined as Row | undefined,
    connect: { metric: 'Sandbox.connect() of a paused sandbox (resume) -> first commands.run', cubby: [] as number[] },
  };
  let c: E2bCtx | undefined;
  let raw: RawAgent | undefined;
  const rawLive: RawClone[] = [];
  let live: string | undefined;
  try {
    c = await e2bDaemon('e2b-bench', 0);
    // Untimed: builds the tenant's `base` and warms both paths.
    const [buildMs] = await timed(() => createToFirstRun(c!));
    console.log(`\n(first Sandbox.create() built base: ${(buildMs / 1000).toFixed(1)} s)`);
    const img = await c.d.store.getImageByName(c.tenantId, 'base');
    const version = img && (await c.d.store.getVersion(c.tenantId, img.id, '1.0'));
    if (!version?.snapshotPath) throw new Error('base has no snapshot');
    raw = await RawAgent.open(path.join(work, 'raw'), version.snapshotPath);
    const warmup = await raw.restore(rawLive);
    await raw.exec(warmup.id);
    await raw.raw.destroy(warmup.id, warmup.ns, warmup.idx);
    rawLive.pop();

    // Cold create, alternating with the raw floor so machine noise hits both alike.
    for (let i = 0; i < reps; i++) {
      rows.cold.cubby.push(await createToFirstRun(c));
      const t0 = performance.now();
      const r = await raw.restore(rawLive);
      await raw.exec(r.id);
      rows.cold.raw.push(performance.now() - t0);
      await raw.raw.destroy(r.id, r.ns, r.idx);
      rawLive.pop();
    }

    // Round trip, files, pause and connect on one sandbox (and one raw clone for runsc exec).
    const s = await Sandbox.create({ ...sdkOpts(c), timeoutMs: 600_000 });
    live = s.sandboxId;
    const clone = await raw.restore(rawLive);
    await s.commands.run('echo hi');
    for (let i = 0; i < reps * 3; i++) {
      rows.rtt.cubby.push((await timed(() => s.commands.run('echo hi')))[0]);
      rows.rtt.raw.push((await timed(() => raw!.exec(clone.id)))[0]);
    }
    // The same pace (a runsc exec between calls), so each call finds the agent in the same state.
    const sHeaders = {
      'E2b-Sandbox-Id': s.sandboxId,
      'E2b-Sandbox-Port': String(ENVD),
      'X-Access-Token': (s as unknown as { envdAccessToken?: string }).envdAccessToken ?? '',
    };
    const sDirect = `http://${await sandboxAddress(c, s.sandboxId)}:${ENVD}`;
    for (let i = 0; i < reps * 2; i++) {
      rows.rttGateway.cubby.push((await timed(() => agentStart(c!.d.gatewayUrl, sHeaders)))[0]);
      await raw.exec(clone.id);
      rows.rttDirect.cubby.push((await timed(() => agentStart(sDirect, {})))[0]);
      await raw.exec(clone.id);
    }
    // Pause and connect first, on a sandbox holding no large files.
    let cur = s;
    for (let i = 0; i < Math.max(3, Math.ceil(reps / 2)); i++) {
      rows.pause.cubby.push((await timed(() => cur.pause()))[0]);
      const [ms, again] = await timed(async () => {
        const x = await Sandbox.connect(cur.sandboxId, sdkOpts(c!));
        await x.commands.run('echo hi');
        return x;
      });
      rows.connect.cubby.push(ms);
      cur = again;
    }
    const token = (cur as unknown as { envdAccessToken?: string }).envdAccessToken ?? '';
    const gwHeaders = { 'E2b-Sandbox-Id': cur.sandboxId, 'E2b-Sandbox-Port': String(ENVD), 'X-Access-Token': token };
    const direct = `http://${await sandboxAddress(c, cur.sandboxId)}:${ENVD}`;
    const files = await fileRounds({
      gateway: { base: c.d.gatewayUrl, headers: gwHeaders },
      direct: { base: direct },
      reps: Math.max(3, reps),
      size: 10 * MiB,
    });
    rows.up.cubby.push(...files.gatewayUp);
    rows.down.cubby.push(...files.gatewayDown);
    rows.up.raw.push(...files.directUp);
    rows.down.raw.push(...files.directDown);
    await cur.commands.run('rm -f gw.bin direct.bin');
    await Sandbox.kill(cur.sandboxId, sdkOpts(c));
    live = undefined;
    await raw.raw.destroy(clone.id, clone.ns, clone.idx);
    rawLive.pop();
    // Its own failure leaves the figures above standing.
    try {
      const cost = await agentCost(c.d, work, Math.max(3, Math.ceil(reps / 2)));
      rows.agentCk = cost.ck;
      rows.agentResume = cost.resume;
    } catch (e) {
      console.error('the agent-cost comparison failed:', e);
    }
    const prev = c;
    await c.d.stop();
    c = undefined;

    // Warm pool: a daemon on the same data directory with a pool of 1 (the pool fills per version on first use).
    c = await e2bDaemon('e2b-bench', 1, prev);
    await createToFirstRun(c);
    for (let i = 0; i < reps; i++) {
      await untilPoolRefilled(c, 60_000);
      rows.warm.cubby.push(await createToFirstRun(c));
    }
  } catch (e) {
    console.error('e2b bench failed:', e);
    throw e;
  } finally {
    await endE2bBench(c, live, raw?.raw, rawLive, work);
  }
  const out = Object.values(rows).filter((r): r is Row => r !== undefined);
  printTable('E2B SDK: create, commands, files, pause/connect (header routing)', out);
  printGoal('cold create -> first echo hi p50', rows.cold.cubby, rows.cold.raw, 1.15);
  printGoal('warm create -> first echo hi p50', rows.warm.cubby, undefined, 150);
  printGoal('commands.run round trip p50', rows.rtt.cubby, undefined, 10);
  printGoalMinRatio('10 MiB upload via gateway', rows.up.cubby, rows.up.raw, 0.8);
  printGoalMinRatio('10 MiB download via gateway', rows.down.cubby, rows.down.raw, 0.8);
  if (rows.agentCk?.raw) printGoal('checkpoint size with the agent', rows.agentCk.cubby, rows.agentCk.raw, 1.1, 'MiB');
  if (rows.agentResume?.raw) printGoal('resume -> first answer with the agent', rows.agentResume.cubby, rows.agentResume.raw, 1.1);
  return out;
}
