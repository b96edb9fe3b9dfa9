/**
 * Resume figures (issue: lifecycle): a SUSPENDED microVM with an auto-resuming idle policy,
 * timed from a gateway request's start to its 200, beside raw runsc restoring the same
 * checkpoint into a fresh netns until its first answer. Suspend is timed beside raw runsc
 * checkpointing (and deleting) a sandbox of the same app.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SuspendMicrovmCommand } from '@aws-sdk/client-lambda-microvms';
import { benchDaemon, IMAGE, UNTHROTTLED, type BenchDaemon } from './support/cubby-fixture.js';
import { gatewayProbe, untilOk } from './support/http-probe.js';
import { Phases, byCaller } from './support/phases.js';
import { RawRestorer } from './support/raw-restore.js';
import { printGoal, printTable, timed, type Row } from './support/stats.js';
import { waitForState } from '../test/e2e/support.js';
import { nodeDisk } from '../src/adapters/node-disk.js';

const STEPS = [
  'ensureRunning: the whole resume (raw: netns + restore + first 200)',
  'runtime.restore: network + manifest + bundle + runsc (raw: netns + bundle + runsc)',
  'network.allocate: netns, veth, nft (raw: ip netns + veth)',
  'runsc restore -detach',
  'hook resume',
  'disk.remove (old checkpoint)',
  'runtime.get (gateway address lookup)',
  'runtime.get (leftover-sandbox check)',
  'hook suspend',
  'runtime.get (suspend hook address)',
] as const;

function timeResumeSteps(b: BenchDaemon): Phases {
  const p = new Phases();
  p.wrap(b.d.core.manager, 'ensureRunning', STEPS[0]);
  p.wrap(b.runtime, 'restore', STEPS[1]);
  p.wrap(b.network, 'allocate', STEPS[2]);
  p.wrap((b.runtime as unknown as { runsc: object }).runsc, 'startDetached', STEPS[3]);
  p.wrap(b.hooks, 'call', (c) => `hook ${(c as { hook: string }).hook}`);
  p.wrap(nodeDisk, 'remove', (dir) => (String(dir).endsWith('current') ? STEPS[5] : 'disk.remove (other)'));
  p.wrap(
    b.runtime,
    'get',
    byCaller('runtime.get', {
      CoreGatewayTargets: 'gateway address lookup',
      doResume: 'leftover-sandbox check',
      doSuspend: 'suspend hook address',
    }),
  );
  return p;
}

interface Rounds {
  resume: number[];
  rawResume: number[];
  suspend: number[];
  rawSuspend: number[];
  ck: number[];
  rawCk: number[];
  /** The raw restore's parts, by the STEPS index they compare with. */
  rawSteps: Map<number, number[]>;
}

/**
 * Suspend, raw-restore the checkpoint (timed, then checkpointed and deleted), then the gateway
 * request that auto-resumes the microVM (timed). Round -1 is untimed: caches and code warm.
 */
async function rounds(b: BenchDaemon, work: string, image: string, reps: number, onFirst?: () => void): Promise<Rounds> {
  const out: Rounds = { resume: [], rawResume: [], suspend: [], rawSuspend: [], ck: [], rawCk: [], rawSteps: new Map() };
  const rawStep = (i: number, ms: number) => out.rawSteps.set(i, [...(out.rawSteps.get(i) ?? []), ms]);
  const v = await b.image(image, 0);
  const raw = await RawRestorer.open(path.join(work, `raw-${image}`), v.snapshotPath ?? '');
  try {
    const id = await b.run({
      imageIdentifier: image,
      idlePolicy: { maxIdleDurationSeconds: 3600, suspendedDurationSeconds: 3600, autoResumeEnabled: true },
    });
    const probe = gatewayProbe(b.d.gatewayPort, b.d.config.domain, id, await b.token(id), '/');
    for (let i = -1; i < reps; i++) {
      if (i === 0) onFirst?.();
      await untilOk(probe); // the app's memory changes between suspends
      const [tSuspend] = await timed(() => b.client.send(new SuspendMicrovmCommand({ microvmIdentifier: id })));
      await waitForState(b.client, id, ['SUSPENDED']);
      const ck = (await b.d.store.getMicrovmAny(id))?.checkpointPath;
      if (!ck) throw new Error('suspended microVM has no checkpoint');
      const ckBytes = (await b.runtime.inspectCheckpoint(ck)).sizeBytes;
      // Raw first: Cubby's resume deletes the checkpoint once the microVM runs again.
      const r = await raw.restore(ck);
      const rawCk = path.join(work, `raw-ck-${i}`);
      const [tRawSuspend] = await timed(async () => {
        await raw.checkpoint(r.clone, rawCk);
        await raw.destroy(r.clone);
      });
      const rawBytes = await dirBytes(rawCk);
      await fs.rm(rawCk, { recursive: true, force: true });
      await new Promise((res) => setTimeout(res, 200));
      const tResume = await untilOk(probe);
      if (i < 0) continue;
      out.resume.push(tResume);
      out.rawResume.push(r.ms);
      out.suspend.push(tSuspend);
      out.rawSuspend.push(tRawSuspend);
      out.ck.push(ckBytes / 2 ** 20);
      out.rawCk.push(rawBytes / 2 ** 20);
      rawStep(0, r.ms);
      rawStep(1, r.restoreMs);
      rawStep(2, r.netnsMs);
      rawStep(3, r.runscMs);
      rawStep(4, r.firstAnswerMs);
    }
  } finally {
    await raw.close();
  }
  return out;
}

export async function resumeBench(reps = 12): Promise<Row[]> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-bench-resume-'));
  const steps: Row[] = [];
  let b: BenchDaemon | undefined;
  let phases: Phases | undefined;
  let main: Rounds | undefined;
  let fast: Rounds | undefined;
  try {
    b = await benchDaemon(0);
    const bd = b;
    await b.image(UNTHROTTLED.name, UNTHROTTLED.memoryMiB);
    main = await rounds(b, work, IMAGE, reps, () => {
      phases = timeResumeSteps(bd);
    });
    phases?.restore();
    for (const [i, name] of STEPS.entries()) steps.push({ metric: name, cubby: phases?.get(name) ?? [], raw: main.rawSteps.get(i) });
    fast = await rounds(b, work, UNTHROTTLED.name, Math.max(3, Math.ceil(reps / 2)));
  } finally {
    phases?.restore();
    await b?.stop().catch((e: unknown) => console.error('bench daemon stop failed', e));
    await fs.rm(work, { recursive: true, force: true });
  }
  const out: Row[] = [
    {
      metric: 'auto-resume: gateway request start -> 200 (raw: restore of the same checkpoint -> first 200)',
      cubby: main.resume,
      raw: main.rawResume,
      goal: '<= 1.15x raw, p50 < 600 ms',
    },
    {
      metric: 'SuspendMicrovm call -> SUSPENDED, sandbox released (raw: runsc checkpoint + delete)',
      cubby: main.suspend,
      raw: main.rawSuspend,
    },
    { metric: 'checkpoint size', cubby: main.ck, raw: main.rawCk, unit: 'MiB' },
    { metric: `${UNTHROTTLED.name} image (4 vCPU quota, never throttled): auto-resume -> 200`, cubby: fast.resume, raw: fast.rawResume },
    { metric: `${UNTHROTTLED.name} image: SuspendMicrovm call`, cubby: fast.suspend, raw: fast.rawSuspend },
  ];
  printTable('Resume (suspended microVM, auto-resume on a gateway request) vs raw runsc restore of the same checkpoint', out);
  printTable(
    'Resume, where the time goes (counter image; per resume; the last two are inside SuspendMicrovm; raw: the same step of the raw restore, its first GET beside the resume hook)',
    steps,
  );
  printGoal('auto-resume to first 200', main.resume, main.rawResume, 1.15);
  printGoal('auto-resume to first 200 p50', main.resume, undefined, 600);
  return [...out, ...steps];
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const f of await fs.readdir(dir)) total += (await fs.stat(path.join(dir, f))).size;
  return total;
}
