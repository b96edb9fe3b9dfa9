/**
 * A session survives its own excess, through the endpoint of a real microVM: a real daemon, the
 * official client, one image whose app is a code interpreter (POST /exec runs the body as Python
 * in the app's process, as a notebook cell does) with 1024 MiB and a 512 MiB disk. Through the
 * gateway, the survivor runs a fork loop, a 3 GiB write, a memory hog, a thread explosion and
 * many open files; after each: the offender got an error, the microVM is RUNNING and answers, a
 * file written before is intact, a process started before still runs, a neighbour microVM answered
 * throughout, and the host lost no more memory or disk than the microVM's limits. The same after
 * SuspendMicrovm + ResumeMicrovm. And microVMs that die anyway say why in GetMicrovm: the memory
 * limit (an image with cubbyAddressSpaceMiB 0, so nothing stops a hog before the host does) and
 * the app's exit code. The runtime-level twin is excess.test.ts.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateMicrovmImageCommand,
  GetMicrovmCommand,
  ResumeMicrovmCommand,
  RunMicrovmCommand,
  SuspendMicrovmCommand,
  TerminateMicrovmCommand,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { withCubbyMembers } from '../../src/client/cubby-members.js';
import { fixtureArtifact, startTestDaemon, viaGateway, type TestDaemon } from '../support/daemon.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { endpointToken, waitForState, waitForVersion } from '../e2e/support.js';
import { EXCESS, EXPECT } from '../support/excess-cells.js';

const MiB = 1024 * 1024;
const MEMORY_MIB = 1024;
const DISK_MIB = 512;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 1024 MiB gives 64 tasks (one per 16 MiB); the app's own threads and the worker take a few. */

describe('a microVM survives its own excess, through its endpoint', { timeout: 480_000 }, () => {
  let d: TestDaemon;
  let client: LambdaMicrovmsClient;
  let tmp: string;
  let baseline: Set<string>;
  const live: string[] = [];
  let survivor = '';
  let survivorToken = '';
  let neighbour = '';
  let neighbourDown = 0;
  let neighbourAsked = 0;
  let watchStart = 0;
  let watching = true;
  let watcher: Promise<void> = Promise.resolve();

  async function buildImage(name: string, members: Record<string, number>): Promise<void> {
    await client.send(
      withCubbyMembers(
        new CreateMicrovmImageCommand({
          name,
          baseImageArn: 'debian-12-python',
          buildRoleArn: 'arn:aws:iam::000000000000:role/build',
          codeArtifact: { uri: await fixtureArtifact('interpreter', tmp) },
          resources: [{ minimumMemoryInMiB: MEMORY_MIB }],
        }),
        members,
      ),
    );
    const v = await waitForVersion(client, name, '1.0', 300_000);
    assert.equal(v.state, 'SUCCESSFUL', v.stateReason);
  }

  async function launch(image: string): Promise<string> {
    const m = await client.send(new RunMicrovmCommand({ imageIdentifier: image }));
    assert.equal(m.state, 'RUNNING');
    const id = m.microvmId ?? '';
    live.push(id);
    return id;
  }

  async function exec(id: string, token: string, code: string): Promise<string> {
    const r = await viaGateway(d, id, '/exec', { token, method: 'POST', body: code, timeoutMs: 120_000 });
    assert.equal(r.status, 200, r.body);
    return r.body;
  }

  async function hostFree(): Promise<{ mem: number; disk: number }> {
    const mem = /MemAvailable:\s+(\d+)/.exec(await fs.readFile('/proc/meminfo', 'utf8'));
    const s = await fs.statfs(d.dataDir);
    return { mem: Number(mem?.[1] ?? 0) * 1024, disk: s.bavail * s.bsize };
  }

  /** The session as it was: RUNNING, answering, its file and its worker process intact. */
  async function intact(when: string): Promise<void> {
    const m = await client.send(new GetMicrovmCommand({ microvmIdentifier: survivor }));
    assert.equal(m.state, 'RUNNING', `${when}: the microVM runs on (${m.stateReason ?? ''})`);
    const r = await viaGateway(d, survivor, '/', { token: survivorToken });
    assert.equal(r.body, 'ok', `${when}: the app answers`);
    const out = await exec(
      survivor,
      survivorToken,
      `
import os
print(open('/var/tmp/precious').read())
os.kill(int(open('/var/tmp/worker.pid').read()), 0)
print('worker alive')
`,
    );
    assert.match(out, /^keep me\nworker alive/, `${when}: the file written before and the worker survive: ${out}`);
  }

  async function excess(name: string, when: string): Promise<void> {
    const before = await hostFree();
    const t0 = Date.now();
    const out = await exec(survivor, survivorToken, EXCESS[name] ?? '');
    console.error(`[excess-endpoint] ${when} ${name}: ${out.trim()} (${Date.now() - t0} ms)`);
    assert.match(out, EXPECT[name] ?? /./, `${when} ${name}: the offender gets an error`);
    await intact(`${when} ${name}`);
    const afterwards = await hostFree();
    const lostMem = before.mem - afterwards.mem;
    const lostDisk = before.disk - afterwards.disk;
    assert.ok(lostMem < (MEMORY_MIB + 256) * MiB, `${name}: host memory lost ${Math.round(lostMem / MiB)} MiB`);
    assert.ok(lostDisk < (DISK_MIB + 256) * MiB, `${name}: host disk lost ${Math.round(lostDisk / MiB)} MiB`);
    assert.equal(neighbourDown, 0, `${name}: the neighbour answered throughout`);
  }

  before(async () => {
    baseline = await hostResources();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-excess-endpoint-'));
    d = await startTestDaemon();
    client = (await d.tenant('excess')).client;
    // One image as a user would make it; one with no address-space cap, to die of memory anyway.
    await Promise.all([
      buildImage('interpreter', { cubbyDiskMiB: DISK_MIB }),
      buildImage('interpreter-unbounded', { cubbyDiskMiB: DISK_MIB, cubbyAddressSpaceMiB: 0 }),
    ]);
    survivor = await launch('interpreter');
    neighbour = await launch('interpreter');
    survivorToken = await endpointToken(client, survivor);
    const neighbourToken = await endpointToken(client, neighbour);
    // A file and a background process that must outlive every excess.
    await exec(
      survivor,
      survivorToken,
      `
import subprocess
open('/var/tmp/precious', 'w').write('keep me')
p = subprocess.Popen(['sleep', '100000'])
open('/var/tmp/worker.pid', 'w').write(str(p.pid))
`,
    );
    // The neighbour is asked every 500 ms throughout.
    watchStart = Date.now();
    watcher = (async () => {
      while (watching) {
        const ok = await viaGateway(d, neighbour, '/', { token: neighbourToken, timeoutMs: 5_000 }).then(
          (r) => r.body === 'ok',
          () => false,
        );
        neighbourAsked++;
        if (!ok) neighbourDown++;
        await sleep(500);
      }
    })();
  });

  after(async () => {
    watching = false;
    await watcher;
    for (const id of live) await client?.send(new TerminateMicrovmCommand({ microvmIdentifier: id })).catch(() => undefined);
    await d?.destroy();
    await fs.rm(tmp, { recursive: true, force: true });
    await assertNoLeaks(baseline, [], 10_000);
  });

  for (const name of Object.keys(EXCESS)) {
    test(`${name}: the offender gets an error, the session lives on`, async () => {
      await excess(name, 'running');
    });
  }

  test('after SuspendMicrovm + ResumeMicrovm the survivor has its files, its worker and its caps', async () => {
    await client.send(new SuspendMicrovmCommand({ microvmIdentifier: survivor }));
    await waitForState(client, survivor, ['SUSPENDED'], 60_000);
    await client.send(new ResumeMicrovmCommand({ microvmIdentifier: survivor }));
    await waitForState(client, survivor, ['RUNNING'], 60_000);
    await intact('resumed');
    for (const name of Object.keys(EXCESS)) await excess(name, 'resumed');
    // Every 500 ms plus the request itself: at least one ask per 2 s watched, whatever the machine's speed.
    const watchedS = (Date.now() - watchStart) / 1000;
    assert.ok(neighbourAsked >= Math.max(5, watchedS / 2), `the neighbour was asked throughout (${neighbourAsked} times in ${watchedS} s)`);
  });

  test('a microVM that dies anyway says why in GetMicrovm: the memory limit, the exit code', async () => {
    // Two independent deaths, side by side (each is noticed by the daemon's liveness check).
    const [hog, quits] = await Promise.all([launch('interpreter-unbounded'), launch('interpreter')]);
    const [hogToken, quitsToken] = await Promise.all([endpointToken(client, hog), endpointToken(client, quits)]);
    const hogDied = (async () => {
      // Nothing in the sandbox stops this one (no RLIMIT_AS): the host's memory cgroup does.
      await viaGateway(d, hog, '/exec', {
        token: hogToken,
        method: 'POST',
        body: `l = []\nwhile True: l.append(b'\\x01' * (64 << 20))\n`,
        timeoutMs: 120_000,
      }).catch(() => undefined);
      return waitForState(client, hog, ['TERMINATED'], 60_000);
    })();
    const quitterGone = (async () => {
      await viaGateway(d, quits, '/exec', { token: quitsToken, method: 'POST', body: 'import os\nos._exit(7)\n' }).catch(() => undefined);
      return waitForState(client, quits, ['TERMINATED'], 60_000);
    })();
    const [dead, gone] = await Promise.all([hogDied, quitterGone]);
    console.error(`[excess-endpoint] the hog: ${dead.stateReason ?? ''}`);
    assert.match(dead.stateReason ?? '', new RegExp(`out of memory: the sandbox exceeded its ${MEMORY_MIB} MiB`), dead.stateReason);
    console.error(`[excess-endpoint] the quitter: ${gone.stateReason ?? ''}`);
    assert.match(gone.stateReason ?? '', /the app exited with code 7/, gone.stateReason);

    await intact('after the neighbours died');
    assert.equal(neighbourDown, 0, 'the neighbour answered throughout');
  });
});
