/**
 * kill -9 of the daemon (a real `cubby serve` child process) in the middle of every lifecycle
 * step, then a restart on the same data directory. After each restart the store and the
 * sandboxes must agree (assertConsistent), no suspended or running session may be lost (the
 * counter app's memory carries on), and at the end nothing may be left on the host. Kill points
 * are chosen by watching the state through the API (kill the moment SUSPENDING is seen, or a
 * little later, while runsc works).
 *
 * Which state each crash point must end in is lifecycle logic, proven in-process at every step
 * (before and after each runtime, hook and disk call) by test/core/microvms/reconcile.test.ts.
 * Here each step is cut once with real parts (runsc, buildah, the app, the daemon's start-up
 * sweep), to show the real host agrees with the store afterwards and nothing leaks.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  GetMicrovmCommand,
  GetMicrovmImageCommand,
  GetMicrovmImageVersionCommand,
  ListMicrovmsCommand,
  ResumeMicrovmCommand,
  RunMicrovmCommand,
  SuspendMicrovmCommand,
  TerminateMicrovmCommand,
  type LambdaMicrovmsClient,
  type MicrovmItem,
} from '@aws-sdk/client-lambda-microvms';
import { spawnDaemon, type DaemonProcess } from '../support/daemon-process.js';
import { fixtureArtifact } from '../support/daemon.js';
import { assertNoDaemonLeaks, daemonResources, runtimeTag } from '../support/daemon-leaks.js';
import { childrenMatching, isAlive, runscCommandPids, runscList } from '../support/runsc-probe.js';
import { buildDirsOwnedBy, processesUnder } from '../support/build-leftovers.js';
import { COUNTER_LIFECYCLE_HOOKS, createImage, endpointToken, waitForVersion } from '../e2e/support.js';

const HOOKS = COUNTER_LIFECYCLE_HOOKS;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('daemon killed (SIGKILL) during build, launch, suspend, resume and terminate', { timeout: 480_000 }, () => {
  let dp: DaemonProcess;
  let client: LambdaMicrovmsClient;
  let dataDir: string;
  let tmp: string;
  let uri: string;
  let baseline: Set<string>;
  const killed: number[] = [];
  const tokens = new Map<string, string>();
  /** Expected counter value of every session that must survive. */
  const counters = new Map<string, number>();

  async function crash(): Promise<void> {
    if (dp.pid) killed.push(dp.pid);
    await dp.kill();
  }
  /**
   * Starts the daemon again once the runsc commands the dead one had started are over (those
   * finishing after the restart are the orphan cases below, tested on their own).
   */
  async function restart(): Promise<void> {
    await until(
      'runsc commands of the dead daemon to end',
      async () => ((await runscCommandPids(dataDir)).length ? undefined : true),
      60_000,
      50,
    );
    await dp.start();
    await assertConsistent();
  }
  const get = (id: string) => client.send(new GetMicrovmCommand({ microvmIdentifier: id }));
  async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000, every = 5): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${dp.output().slice(-3000)}`);
      await sleep(every);
    }
  }
  const inState = (id: string, states: string[], ms?: number) =>
    until(
      `${id} in ${states.join('|')}`,
      async () => {
        const m = await get(id);
        return states.includes(m.state ?? '') ? m : undefined;
      },
      ms,
    );
  async function bump(id: string): Promise<number> {
    let t = tokens.get(id);
    if (!t) {
      t = await endpointToken(client, id, 'all');
      tokens.set(id, t);
    }
    const r = await dp.endpoint(id, '/', t);
    assert.equal(r.status, 200, `${id}: ${r.body}`);
    return (JSON.parse(r.body) as { count: number }).count;
  }
  /** Bumps the counter and checks it carried on from the last known value (memory kept). */
  /** A session found `state` after a restart: resumed when SUSPENDED, then its memory must carry on. */
  async function carriesOnFrom(id: string, state: string | undefined): Promise<void> {
    if (state === 'SUSPENDED') {
      await client.send(new ResumeMicrovmCommand({ microvmIdentifier: id }));
      await inState(id, ['RUNNING']);
    }
    await carriesOn(id);
  }
  /** Crashes the daemon `cut` ms on (at once when <= 0) and restarts it: the session must be SUSPENDED or RUNNING, and carry on. */
  async function cutThenCarryOn(step: string, id: string, cut: number): Promise<void> {
    if (cut > 0) await sleep(cut);
    await crash();
    await restart();
    const m = await get(id);
    console.error(`[${step} cut at ${cut}] ${id} -> ${m.state}: ${m.stateReason ?? ''}`);
    assert.ok(m.state === 'SUSPENDED' || m.state === 'RUNNING', `${id} is ${m.state}: ${m.stateReason ?? ''}`);
    await carriesOnFrom(id, m.state);
  }
  /** One normal suspend and resume, after which the session carries on. */
  async function cycle(id: string): Promise<void> {
    await client.send(new SuspendMicrovmCommand({ microvmIdentifier: id }));
    await inState(id, ['SUSPENDED']);
    await client.send(new ResumeMicrovmCommand({ microvmIdentifier: id }));
    await inState(id, ['RUNNING']);
    await carriesOn(id);
  }
  async function carriesOn(id: string): Promise<void> {
    const want = (counters.get(id) ?? 0) + 1;
    assert.equal(await bump(id), want, `${id} lost its session (counter)`);
    counters.set(id, want);
  }
  async function listAll(): Promise<MicrovmItem[]> {
    const out: MicrovmItem[] = [];
    let nextToken: string | undefined;
    do {
      const r = await client.send(new ListMicrovmsCommand({ maxResults: 50, nextToken }));
      out.push(...(r.items ?? []));
      nextToken = r.nextToken;
    } while (nextToken);
    return out;
  }
  const exists = (p: string) =>
    fs.access(p).then(
      () => true,
      () => false,
    );

  /** The store and runsc agree; no microVM is left half-way; checkpoints exist exactly for SUSPENDED ones. */
  async function assertConsistent(): Promise<void> {
    let last: unknown;
    // runsc commands the killed daemon had started may still be finishing: give them a moment.
    const deadline = Date.now() + 8000;
    do {
      try {
        const vms = await listAll();
        const sandboxes = new Map((await runscList(dataDir)).map((e) => [e.id, e.status]));
        for (const m of vms) {
          const id = m.microvmId ?? '';
          const ck = path.join(dataDir, 'checkpoints', id);
          if (m.state === 'RUNNING')
            assert.equal(sandboxes.get(id), 'running', `${id} is RUNNING but its sandbox is ${sandboxes.get(id) ?? 'gone'}`);
          else if (m.state === 'SUSPENDED') {
            assert.ok(!sandboxes.has(id), `${id} is SUSPENDED but still has a sandbox`);
            assert.ok(await exists(path.join(ck, 'current', 'cubby-checkpoint.json')), `${id} is SUSPENDED without a checkpoint`);
          } else if (m.state === 'TERMINATED') {
            assert.ok(!sandboxes.has(id), `${id} is TERMINATED but still has a sandbox`);
            assert.ok(!(await exists(ck)), `${id} is TERMINATED but its checkpoints remain`);
          } else assert.fail(`${id} is left ${m.state} after a restart`);
        }
        const running = new Set(vms.filter((m) => m.state === 'RUNNING').map((m) => m.microvmId));
        for (const [id, st] of sandboxes) assert.ok(running.has(id), `sandbox ${id} (${st}) belongs to no RUNNING microVM`);
        return;
      } catch (e) {
        last = e;
        await sleep(250);
      }
    } while (Date.now() < deadline);
    throw last;
  }

  async function image(name: string): Promise<void> {
    await createImage(client, name, uri, { hooks: HOOKS, resources: [{ minimumMemoryInMiB: 512 }] });
  }
  /** The build log of the image whose directory is not in `known` (the one just created). */
  async function newBuildLog(known: string[]): Promise<string> {
    for (const idDir of (await fs.readdir(path.join(dataDir, 'images')).catch(() => [] as string[])).filter((x) => !known.includes(x))) {
      const dir = path.join(dataDir, 'images', idDir, '1.0');
      for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
        if (f.startsWith('build-')) return fs.readFile(path.join(dir, f), 'utf8').catch(() => '');
      }
    }
    return '';
  }
  async function terminate(id: string): Promise<void> {
    await client.send(new TerminateMicrovmCommand({ microvmIdentifier: id }));
    counters.delete(id);
  }
  async function run(): Promise<string> {
    const m = await client.send(new RunMicrovmCommand({ imageIdentifier: 'counter' }));
    counters.set(m.microvmId ?? '', 0);
    return m.microvmId ?? '';
  }
  /** Sends a call without waiting for it; its failure (the daemon died under it) is expected. */
  const fire = (p: Promise<unknown>) => {
    p.catch(() => undefined);
  };

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-crash-art-'));
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-crash-'));
    baseline = await daemonResources(dataDir);
    uri = await fixtureArtifact('counter', tmp);
    dp = await spawnDaemon({ dataDir });
    client = (await dp.tenant('crash')).client;
  });

  after(async () => {
    let all: MicrovmItem[] = [];
    if (dp) {
      if (!dp.pid) await dp.start().catch(() => undefined);
      all = await listAll().catch(() => []);
      // Together: each terminate waits ~1.6 s for its sandbox to die.
      await Promise.all(
        all
          .filter((m) => m.state !== 'TERMINATED')
          .map((m) => client.send(new TerminateMicrovmCommand({ microvmIdentifier: m.microvmId })).catch(() => undefined)),
      );
      await dp.destroy();
    }
    await fs.rm(tmp, { recursive: true, force: true });
    await assertNoDaemonLeaks(dataDir, baseline).catch((e: unknown) => {
      // Name the microVMs, so a leak can be traced to the step that made it.
      for (const m of all) console.error(`[leak trace] ${m.microvmId} ${m.state}`);
      throw e;
    });
    const dirs = await buildDirsOwnedBy(killed);
    assert.deepEqual(dirs, [], 'build directories of killed daemons remain');
  });

  test('build: a build cut by the crash is FAILED with a reason after the restart; its leftovers are swept', async () => {
    // Cut once while buildah runs, once while the built app is starting in its sandbox.
    for (const [name, mark] of [
      ['cut-in-buildah', '[build] '],
      ['cut-at-start', 'starting the app'],
    ] as const) {
      const before = await fs.readdir(path.join(dataDir, 'images')).catch(() => [] as string[]);
      await image(name);
      await until(
        `build log of ${name} to reach "${mark}"`,
        async () => ((await newBuildLog(before)).includes(mark) ? true : undefined),
        120_000,
        50,
      );
      const pid = dp.pid ?? 0;
      const dirs = await buildDirsOwnedBy([pid]);
      await crash();
      await restart();
      const v = await client.send(new GetMicrovmImageVersionCommand({ imageIdentifier: name, imageVersion: '1.0' }));
      assert.equal(v.state, 'FAILED');
      assert.match(v.stateReason ?? '', /interrupted by a daemon restart/);
      const img = await client.send(new GetMicrovmImageCommand({ imageIdentifier: name }));
      assert.equal(img.state, 'CREATE_FAILED');
      const made = (await fs.readdir(path.join(dataDir, 'images'))).filter((x) => !before.includes(x));
      for (const m of made) {
        const left = await fs.readdir(path.join(dataDir, 'images', m, '1.0')).catch(() => [] as string[]);
        // Only the build log may stay for the owner to read; a half-built rootfs is waste.
        const waste = left.filter((f) => !f.startsWith('build-'));
        if (waste.length)
          console.error(`[finding] the interrupted build of ${name} left ${waste.join(', ')} in ${path.join(dataDir, 'images', m, '1.0')}`);
      }
      const orphans = await processesUnder(dirs);
      if (orphans.length)
        console.error(`[finding] build processes of the killed daemon still run after the restart:\n${orphans.join('\n')}`);
    }
    // The next build works, and sweeps what the killed builds left in the shared build store.
    await image('counter');
    assert.equal((await waitForVersion(client, 'counter', '1.0', 180_000)).state, 'SUCCESSFUL');
    const dirs = await buildDirsOwnedBy(killed);
    assert.deepEqual(dirs, [], 'build directories of the killed daemon remain after the next build');
    assert.deepEqual(await processesUnder(dirs), []);
    await assertConsistent();
  });

  test('launch: a launch cut by the crash ends RUNNING or TERMINATED with a reason, never half-way', async () => {
    // ms after PENDING is seen: 150 usually cuts runsc restore (TERMINATED, sandbox swept), 400 usually after it (adopted).
    for (const delayMs of [150, 400]) {
      const known = new Set((await listAll()).map((m) => m.microvmId));
      fire(client.send(new RunMicrovmCommand({ imageIdentifier: 'counter' })));
      await until('a PENDING launch', async () => ((await listAll()).some((m) => !known.has(m.microvmId)) ? true : undefined));
      if (delayMs > 0) await sleep(delayMs);
      await crash();
      await restart();
      const fresh = (await listAll()).filter((m) => !known.has(m.microvmId));
      assert.equal(fresh.length, 1);
      const m = fresh[0] as MicrovmItem;
      const full = await get(m.microvmId ?? '');
      if (full.state === 'TERMINATED') assert.match(full.stateReason ?? '', /launch interrupted/);
      else {
        assert.equal(full.state, 'RUNNING');
        counters.set(full.microvmId ?? '', 0);
        await carriesOn(full.microvmId ?? '');
      }
      console.error(
        `[launch cut at ${delayMs} ms] ${full.microvmId ?? ''} -> ${full.state}${full.stateReason ? `: ${full.stateReason}` : ''}`,
      );
    }
  });

  test('suspend: a suspend cut by the crash ends SUSPENDED or RUNNING, and the session carries on', async () => {
    // Cut as soon as SUSPENDING is seen (the app's hook, the pause); a cut inside runsc checkpoint is the orphan case below.
    const id = await run();
    await carriesOn(id);
    fire(client.send(new SuspendMicrovmCommand({ microvmIdentifier: id })));
    await inState(id, ['SUSPENDING', 'SUSPENDED']);
    await cutThenCarryOn('suspend', id, -1);
    // And it can be suspended and resumed normally afterwards.
    await cycle(id);
    await terminate(id);
  });

  test('resume: a resume cut by the crash ends SUSPENDED or RUNNING, and the session carries on', async () => {
    // Cut 150 ms after PENDING is seen, while runsc restores (the orphan cases below freeze it at fixed points).
    const id = await run();
    await carriesOn(id);
    await client.send(new SuspendMicrovmCommand({ microvmIdentifier: id }));
    await inState(id, ['SUSPENDED']);
    fire(client.send(new ResumeMicrovmCommand({ microvmIdentifier: id })));
    await inState(id, ['PENDING', 'RUNNING']);
    await cutThenCarryOn('resume', id, 150);
    await terminate(id);
  });

  test('terminate: a terminate cut by the crash is finished by the restart, of running and suspended microVMs', async () => {
    // A running one as soon as TERMINATING is seen (hook, sandbox still there); a suspended one while its files go.
    for (const [suspended, cut] of [
      [false, -1],
      [true, 100],
    ] as const) {
      const id = await run();
      await carriesOn(id);
      if (suspended) {
        await client.send(new SuspendMicrovmCommand({ microvmIdentifier: id }));
        await inState(id, ['SUSPENDED']);
      }
      fire(client.send(new TerminateMicrovmCommand({ microvmIdentifier: id })));
      await inState(id, ['TERMINATING', 'TERMINATED']);
      if (cut > 0) await sleep(cut);
      await crash();
      await restart();
      const m = await get(id);
      assert.equal(m.state, 'TERMINATED', `${id}: ${m.stateReason ?? ''}`);
      assert.match(m.stateReason ?? '', /terminated by request/);
      counters.delete(id);
      assert.ok(!(await exists(path.join(dataDir, 'checkpoints', id))), 'its checkpoints are gone');
    }
  });

  /**
   * A runsc command the killed daemon had started goes on without it. Freeze it (SIGSTOP) at the
   * crash, `delayMs` after runsc started, and let it go on (SIGCONT) once the new daemon has
   * reconciled: the slow-disk case, made repeatable (where it is caught decides what it has done).
   */
  async function crashLeavingOrphan(verb: string, id: string, delayMs: number): Promise<void> {
    const daemon = dp.pid ?? 0;
    const pids = await until(
      `runsc ${verb} of ${id}`,
      async () => {
        // A direct child of the daemon (unshare, then sh, then runsc itself: same pid).
        for (const p of await childrenMatching(daemon, [verb, id])) {
          const argv0 = (await fs.readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')).split('\0')[0] ?? '';
          if (path.basename(argv0) === 'runsc') return [p];
        }
        return undefined;
      },
      30_000,
      1,
    );
    if (delayMs > 0) await sleep(delayMs);
    for (const p of pids) {
      try {
        process.kill(p, 'SIGSTOP');
      } catch {
        /* already done */
      }
    }
    await crash();
    const starting = dp.start();
    // Should the frozen command hold a runsc lock the start-up needs, let it go after a while.
    await Promise.race([starting.catch(() => undefined), sleep(10_000)]);
    for (const p of pids) {
      try {
        process.kill(p, 'SIGCONT');
      } catch {
        /* gone */
      }
    }
    await until('the orphaned runsc command to end', async () => (pids.some(isAlive) ? undefined : true), 60_000, 50);
    await starting;
    await assertConsistent();
  }
  /** After a failed orphan case: end the microVM and restart cleanly (the start-up sweep removes stray sandboxes). */
  async function repair(id: string): Promise<void> {
    await terminate(id).catch(() => undefined);
    await dp.stop();
    await dp.start();
    await strayCgroups(id);
  }
  /** Runs one orphan case for `id`; it must leave no stray cgroup, and a failure repairs before it is reported. */
  async function guarded(id: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
      await noStrayCgroups(id);
    } catch (e) {
      await repair(id);
      throw e;
    }
  }
  /** Removes (and returns) the empty cgroups an orphaned runsc left for `id` behind the runtime's back. */
  async function strayCgroups(id: string): Promise<string[]> {
    const found: string[] = [];
    for (const ctrl of await fs.readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
      const dir = path.join('/sys/fs/cgroup', ctrl, 'cubby', runtimeTag(dataDir), id);
      if (
        await fs.rmdir(dir).then(
          () => true,
          () => false,
        )
      )
        found.push(dir);
    }
    return found;
  }
  async function noStrayCgroups(id: string): Promise<void> {
    await sleep(500);
    const stray = await strayCgroups(id);
    assert.deepEqual(stray, [], `the orphaned runsc left cgroups of ${id} behind (removed by the test)`);
  }

  test('orphans: a resume whose runsc restore outlives the crash loses no session', async () => {
    // Frozen 80 ms into the restore: part done, the rest done behind the new daemon's back.
    const id = await run();
    await carriesOn(id);
    await client.send(new SuspendMicrovmCommand({ microvmIdentifier: id }));
    await inState(id, ['SUSPENDED']);
    fire(client.send(new ResumeMicrovmCommand({ microvmIdentifier: id })));
    await guarded(id, async () => {
      await crashLeavingOrphan('restore', id, 80);
      const m = await get(id);
      console.error(`[orphan restore frozen 80 ms in, resume] ${id} -> ${m.state}: ${m.stateReason ?? ''}`);
      await carriesOnFrom(id, m.state);
      await terminate(id);
    });
  });

  test('orphans: a launch whose runsc restore outlives the crash leaves no sandbox running for nobody', async () => {
    // Frozen before it did anything: its sandbox appears only after the new daemon reconciled.
    const known = new Set((await listAll()).map((m) => m.microvmId));
    fire(client.send(new RunMicrovmCommand({ imageIdentifier: 'counter' })));
    const id = await until('the new microVM', async () => (await listAll()).find((m) => !known.has(m.microvmId))?.microvmId);
    await guarded(id, async () => {
      await crashLeavingOrphan('restore', id, 0);
      const m = await get(id);
      console.error(`[orphan restore frozen 0 ms in, launch] ${id} -> ${m.state}: ${m.stateReason ?? ''}`);
      if (m.state === 'RUNNING') {
        counters.set(id, 0);
        await carriesOn(id);
        await terminate(id);
      } else assert.equal(m.state, 'TERMINATED');
    });
  });

  test('orphans: a suspend whose runsc checkpoint outlives the crash loses no session and suspends again', async () => {
    const id = await run();
    await carriesOn(id);
    fire(client.send(new SuspendMicrovmCommand({ microvmIdentifier: id })));
    await guarded(id, async () => {
      await crashLeavingOrphan('checkpoint', id, 20);
      const m = await get(id);
      console.error(`[orphan checkpoint, suspend] ${id} -> ${m.state}: ${m.stateReason ?? ''}`);
      await carriesOnFrom(id, m.state);
      await cycle(id);
      await terminate(id);
    });
  });

  test('sessions that were merely alive across all those crashes are intact', async () => {
    const id = await run();
    await carriesOn(id);
    const sid = await run();
    await carriesOn(sid);
    await client.send(new SuspendMicrovmCommand({ microvmIdentifier: sid }));
    await inState(sid, ['SUSPENDED']);
    for (let i = 0; i < 2; i++) {
      await crash();
      await restart();
    }
    await carriesOn(id);
    assert.equal((await get(sid)).state, 'SUSPENDED');
    await client.send(new ResumeMicrovmCommand({ microvmIdentifier: sid }));
    await carriesOn(sid);
    // Every session that was not terminated on purpose is still there.
    const all = await listAll();
    for (const [vm] of counters) {
      const m = all.find((x) => x.microvmId === vm);
      assert.ok(m && m.state !== 'TERMINATED', `${vm} was lost: ${m?.state}`);
    }
  });
});
