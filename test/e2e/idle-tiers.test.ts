/**
 * The idle tiers with real parts: a `cubby serve` child process, runsc sandboxes, the counter
 * app and the official client. A microVM idle for a second is frozen by the cgroup freezer (it
 * uses no CPU, the API still says RUNNING) and the gateway thaws it for the next request; past
 * maxIdle it is SUSPENDED held in memory and a request resumes it by a thaw. A SIGKILL of the
 * daemon while both are frozen loses nothing (the restarted daemon finds them frozen and keeps
 * them), and a normal shutdown writes them to disk, from where they resume with the same state.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetMicrovmCommand, RunMicrovmCommand, TerminateMicrovmCommand, type LambdaMicrovmsClient } from '@aws-sdk/client-lambda-microvms';
import { spawnDaemon, type DaemonProcess, type ProcessTenant } from '../support/daemon-process.js';
import { signedRequest } from '../support/signed-http.js';
import { withCubbyMembers } from '../../src/client/cubby-members.js';
import { COUNTER_LIFECYCLE_HOOKS, buildCounterImage, endpointToken } from './support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CGROUP = '/sys/fs/cgroup';

/** The sandbox's v1 cgroup path (/cubby/<runtime tag>/<id>), found by its id. */
async function cgroupOf(id: string): Promise<string> {
  for (const tag of await fs.readdir(path.join(CGROUP, 'freezer', 'cubby')).catch(() => [] as string[])) {
    const p = path.join('cubby', tag, id);
    if (
      await fs.stat(path.join(CGROUP, 'freezer', p)).then(
        () => true,
        () => false,
      )
    )
      return p;
  }
  throw new Error(`no freezer cgroup for sandbox ${id}`);
}
const freezerState = async (id: string) =>
  (await fs.readFile(path.join(CGROUP, 'freezer', await cgroupOf(id), 'freezer.state'), 'utf8')).trim();
const cpuNs = async (id: string) => Number(await fs.readFile(path.join(CGROUP, 'cpuacct', await cgroupOf(id), 'cpuacct.usage'), 'utf8'));

describe('idle tiers with real sandboxes: frozen, held in memory, SIGKILL, disk', { timeout: 600_000 }, () => {
  let dp: DaemonProcess;
  let client: LambdaMicrovmsClient;
  let tenant: ProcessTenant;
  let tmp: string;
  const ids: string[] = [];
  const tokens = new Map<string, string>();

  const get = (id: string) => client.send(new GetMicrovmCommand({ microvmIdentifier: id }));
  async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn().catch(() => undefined);
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${dp.output().slice(-3000)}`);
      await sleep(50);
    }
  }
  async function bump(id: string): Promise<{ count: number; ms: number }> {
    let t = tokens.get(id);
    if (!t) tokens.set(id, (t = await endpointToken(client, id)));
    const t0 = performance.now();
    const r = await dp.endpoint(id, '/', t, 60_000);
    const ms = performance.now() - t0;
    assert.equal(r.status, 200, `${id}: ${r.body}`);
    return { count: (JSON.parse(r.body) as { count: number }).count, ms };
  }
  async function run(maxIdle: number): Promise<string> {
    const idlePolicy = {
      maxIdleDurationSeconds: maxIdle,
      suspendedDurationSeconds: 3600,
      autoResumeEnabled: true,
      cubbyFreezeAfterSeconds: 1,
    };
    const m = await client.send(withCubbyMembers(new RunMicrovmCommand({ imageIdentifier: 'counter', idlePolicy }), { idlePolicy }));
    const id = m.microvmId ?? '';
    ids.push(id);
    return id;
  }

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-tiers-'));
    // The host default stays long: each microVM asks for 1 s itself (the Cubby idle-policy member).
    dp = await spawnDaemon({ extraArgs: ['--freeze-after-seconds', '30'] });
    tenant = await dp.tenant('tiers');
    client = tenant.client;
    await buildCounterImage(client, tmp, { hooks: COUNTER_LIFECYCLE_HOOKS });
  });

  after(async () => {
    if (dp) {
      if (!dp.pid) await dp.start().catch(() => undefined);
      for (const id of ids) await client.send(new TerminateMicrovmCommand({ microvmIdentifier: id })).catch(() => undefined);
      await dp.destroy();
    }
    await fs.rm(tmp, { recursive: true, force: true });
  });

  test('frozen while idle (0 CPU, still RUNNING), held SUSPENDED in memory, both survive a SIGKILL, then go to disk on shutdown', async () => {
    const a = await run(3600);
    const b = await run(4);
    // The official client drops unmodelled members of answers: the echo is read off the wire.
    const wire = await signedRequest(dp.apiUrl, tenant, { method: 'GET', path: `/2025-09-09/microvms/${a}` });
    assert.equal((wire.json?.idlePolicy as Record<string, unknown> | undefined)?.cubbyFreezeAfterSeconds, 1, wire.text);
    assert.equal((await bump(a)).count, 1);
    assert.equal((await bump(b)).count, 1);

    // Frozen tier: frozen after 1 s idle (the microVM's own cubbyFreezeAfterSeconds: the host
    // default is 30 s); no CPU at all; the API still says RUNNING.
    await until('a frozen', async () => (await freezerState(a)) === 'FROZEN');
    const c0 = await cpuNs(a);
    await sleep(2000);
    const idleCpuMsPerS = ((await cpuNs(a)) - c0) / 1e6 / 2;
    assert.ok(idleCpuMsPerS < 1, `a frozen sandbox used ${idleCpuMsPerS} ms/s of CPU`);
    assert.equal((await get(a)).state, 'RUNNING');
    const thawed = await bump(a);
    assert.equal(thawed.count, 2, 'the gateway thawed it: same process, same memory');
    console.error(`[idle-tiers] frozen idle CPU ${idleCpuMsPerS.toFixed(3)} ms/s; thaw + request ${thawed.ms.toFixed(1)} ms`);

    // maxIdle passed: SUSPENDED, held in memory (still frozen, no checkpoint).
    const held = await until('b held', async () => {
      const m = await get(b);
      return m.state === 'SUSPENDED' && m;
    });
    assert.match(held.stateReason ?? '', /held in memory/);
    assert.equal(await freezerState(b), 'FROZEN');
    await until('a frozen again', async () => (await freezerState(a)) === 'FROZEN');

    // SIGKILL while both are frozen: the restarted daemon finds them frozen and keeps them.
    await dp.kill();
    assert.equal(await freezerState(a), 'FROZEN');
    await dp.start();
    assert.equal((await get(a)).state, 'RUNNING');
    assert.equal((await get(b)).state, 'SUSPENDED');
    assert.equal(await freezerState(a), 'FROZEN', 'kept frozen by reconcile');
    assert.equal(await freezerState(b), 'FROZEN');
    assert.equal((await bump(a)).count, 3, 'a frozen RUNNING session survived the SIGKILL');
    const resumed = await bump(b);
    assert.equal(resumed.count, 2, 'the held session survived the SIGKILL and resumed from memory');
    assert.equal((await get(b)).state, 'RUNNING');
    console.error(`[idle-tiers] held SUSPENDED -> RUNNING by a request: ${resumed.ms.toFixed(1)} ms`);

    // Disk tier: a shutdown writes the frozen ones to disk; after the restart they resume from it.
    await until('both frozen', async () => (await freezerState(a)) === 'FROZEN' && (await freezerState(b)) === 'FROZEN');
    await dp.stop();
    for (const id of [a, b]) {
      assert.ok(
        await fs.stat(path.join(dp.dataDir, 'checkpoints', id, 'current')).then(
          () => true,
          () => false,
        ),
        `${id} on disk`,
      );
      await assert.rejects(cgroupOf(id), 'the sandbox was released');
    }
    await dp.start();
    for (const id of [a, b]) {
      const m = await get(id);
      assert.equal(m.state, 'SUSPENDED');
      assert.match(m.stateReason ?? '', /before the daemon stopped/);
    }
    assert.equal((await bump(a)).count, 4, 'the disk tier gives the same state');
    assert.equal((await bump(b)).count, 3);
    assert.equal((await get(a)).state, 'RUNNING');
  });
});
