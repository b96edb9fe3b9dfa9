/**
 * Faults below the daemon, with real parts: a sandbox killed from outside (kill -9 of its runsc
 * process), the app crashing inside (its main process killed through the shell), the disk
 * filling up during a suspend's checkpoint (a small tmpfs as the checkpoints directory), and a
 * suspended microVM's checkpoint truncated or corrupted on disk. Each must be reported with a
 * reason, leave the microVM in a state it can be used or cleaned up from, and touch no other
 * microVM.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  GetMicrovmCommand,
  LambdaMicrovmsClient,
  ResumeMicrovmCommand,
  RunMicrovmCommand,
  SuspendMicrovmCommand,
  TerminateMicrovmCommand,
} from '@aws-sdk/client-lambda-microvms';
import { startTestDaemon, viaGateway, type TestDaemon } from '../support/daemon.js';
import { assertNoDaemonLeaks, daemonResources } from '../support/daemon-leaks.js';
import { shellExec, shellToken } from '../support/sandbox-shell.js';
import { runscList, sandboxPid } from '../support/runsc-probe.js';
import { runCommand } from '../../src/util/command.js';
import { buildCounterImage, COUNTER_LIFECYCLE_HOOKS, endpointToken, waitForState } from '../e2e/support.js';

const HOOKS = COUNTER_LIFECYCLE_HOOKS;
const TMPFS_MB = 256;

async function sh(cmd: string, args: string[]): Promise<void> {
  const r = await runCommand(cmd, args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

describe('sandbox, app, disk and checkpoint faults', { timeout: 300_000 }, () => {
  let d: TestDaemon;
  let client: LambdaMicrovmsClient;
  let keys: { accessKeyId: string; secretAccessKey: string };
  let dataDir: string;
  let checkpoints: string;
  let tmp: string;
  let baseline: Set<string>;
  let mounted = false;
  const counters = new Map<string, number>();
  const tokens = new Map<string, string>();

  const get = (id: string) => client.send(new GetMicrovmCommand({ microvmIdentifier: id }));
  async function run(): Promise<string> {
    const m = await client.send(new RunMicrovmCommand({ imageIdentifier: 'counter' }));
    counters.set(m.microvmId ?? '', 0);
    return m.microvmId ?? '';
  }
  async function call(id: string, p = '/') {
    let t = tokens.get(id);
    if (!t) {
      t = await endpointToken(client, id, 'all');
      tokens.set(id, t);
    }
    return viaGateway(d, id, p, { token: t, timeoutMs: 20_000 });
  }
  async function carriesOn(id: string): Promise<void> {
    const r = await call(id);
    assert.equal(r.status, 200, `${id}: ${r.body}`);
    const want = (counters.get(id) ?? 0) + 1;
    assert.equal((JSON.parse(r.body) as { count: number }).count, want, `${id} lost its memory`);
    counters.set(id, want);
  }
  async function suspend(id: string): Promise<void> {
    await client.send(new SuspendMicrovmCommand({ microvmIdentifier: id }));
    await waitForState(client, id, ['SUSPENDED']);
  }
  async function resume(id: string): Promise<void> {
    await client.send(new ResumeMicrovmCommand({ microvmIdentifier: id }));
    await waitForState(client, id, ['RUNNING']);
  }
  async function freeBytes(): Promise<number> {
    const s = await fs.statfs(checkpoints);
    return s.bavail * s.bsize;
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-faults-art-'));
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-faults-'));
    baseline = await daemonResources(dataDir);
    // Checkpoints go to a small filesystem of their own, so the test can fill it.
    checkpoints = path.join(dataDir, 'checkpoints');
    await fs.mkdir(checkpoints);
    await sh('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_MB}m,mode=0700`, 'cubby-test-checkpoints', checkpoints]);
    mounted = true;
    d = await startTestDaemon({ dataDir });
    const t = await d.tenant('faults');
    client = t.client;
    keys = t;
    await buildCounterImage(client, tmp, { hooks: HOOKS }, 180_000);
  });

  after(async () => {
    if (d) {
      // Together: each terminate waits ~1.6 s for its sandbox to die.
      const left = await d.store.listMicrovmsByState(['PENDING', 'RUNNING', 'SUSPENDING', 'SUSPENDED', 'TERMINATING']);
      await Promise.all(left.map((m) => d.core.manager.withLock(m.id, (steps) => steps.terminate('test over')).catch(() => undefined)));
      await d.stop();
    }
    if (mounted) await sh('umount', [checkpoints]);
    await fs.rm(dataDir, { recursive: true, force: true });
    await fs.rm(tmp, { recursive: true, force: true });
    await assertNoDaemonLeaks(dataDir, baseline);
  });

  let killed = '';
  let crashed = '';
  test('a sandbox killed from outside and an app crashing inside: the gateway answers 502 (or 404 once noticed) within its connect timeout', async () => {
    killed = await run();
    crashed = await run();
    await carriesOn(killed);
    await carriesOn(crashed);
    const pid = await sandboxPid(dataDir, killed);
    assert.ok(pid, 'runsc knows the sandbox pid');
    process.kill(pid, 'SIGKILL');
    // The app's main process (pid 1 inside) killed from a shell in the microVM.
    await shellExec(
      { gatewayPort: d.gatewayPort, domain: d.config.domain },
      crashed,
      await shellToken(client, crashed),
      'kill -9 1',
      15_000,
    ).catch(() => undefined);
    await Promise.all(
      [killed, crashed].map(async (id) => {
        const t0 = Date.now();
        const r = await call(id);
        console.error(`[dead sandbox ${id}] gateway answered ${r.status} in ${Date.now() - t0} ms: ${r.body.slice(0, 200)}`);
        // Not noticed yet: the gateway finds nothing listening (502). Noticed already (sandbox
        // processes are reaped at once under a subreaper): the microVM is on its way out (404).
        if (r.status === 404) assert.match(r.body, /is terminat(ing|ed)/, `a dead app's microVM is terminating: ${r.body}`);
        else {
          assert.equal(r.status, 502, `a dead app is a 502 from the gateway: ${r.body}`);
          assert.match(r.body, /not reachable/);
        }
        assert.ok(Date.now() - t0 < 12_000, 'within the gateway connect timeout (10 s), no hang');
      }),
    );
  });

  async function terminatedWithReason(id: string, withinMs: number): Promise<string> {
    const deadline = Date.now() + withinMs;
    let m = await get(id);
    while (m.state !== 'TERMINATED' && Date.now() < deadline) {
      await sleep(200);
      m = await get(id);
    }
    assert.equal(
      m.state,
      'TERMINATED',
      `${id} is still ${m.state} ${withinMs} ms after its sandbox died (${m.stateReason ?? 'no reason'})`,
    );
    assert.ok(m.stateReason, 'with a reason');
    return m.stateReason ?? '';
  }

  test('while the daemon runs, a dead sandbox is noticed: TERMINATED with a reason, nothing left of it', async () => {
    for (const id of [killed, crashed]) {
      const why = await terminatedWithReason(id, 15_000);
      console.error(`[dead sandbox ${id}] -> TERMINATED: ${why}`);
      assert.match(why, /exited|killed|vanished|stopped/);
      counters.delete(id);
    }
    const ids = new Set((await runscList(dataDir)).map((e) => e.id));
    assert.ok(!ids.has(killed) && !ids.has(crashed), 'their sandboxes are gone');
  });

  test('a sandbox killed while the daemon is down is TERMINATED with a reason at the restart; the others carry on', async () => {
    const live = await run();
    const doomed = await run();
    await carriesOn(live);
    const pid = await sandboxPid(dataDir, doomed);
    assert.ok(pid);
    await d.stop();
    process.kill(pid, 'SIGKILL');
    d = await startTestDaemon({ dataDir });
    client = new LambdaMicrovmsClient({ endpoint: d.apiUrl, region: 'local', maxAttempts: 1, credentials: keys });
    const why = await terminatedWithReason(doomed, 15_000);
    console.error(`[killed while down ${doomed}] -> TERMINATED: ${why}`);
    assert.match(why, /vanished|exited|killed|stopped/);
    counters.delete(doomed);
    assert.ok(!(await runscList(dataDir)).some((e) => e.id === doomed), 'its sandbox is gone');
    tokens.clear();
    await carriesOn(live);
    await client.send(new TerminateMicrovmCommand({ microvmIdentifier: live }));
    counters.delete(live);
  });

  test('disk full during a checkpoint: the suspend fails with the reason, the microVM stays RUNNING; with space it suspends', async () => {
    const id = await run();
    await carriesOn(id);
    await carriesOn(id);
    const filler = path.join(checkpoints, 'filler');
    // Leave 1 MiB: far less than a checkpoint of the app needs.
    const fill = Math.max(0, (await freeBytes()) - (1 << 20));
    await sh('fallocate', ['-l', String(fill), filler]);
    const freeBefore = await freeBytes();
    try {
      await assert.rejects(
        client.send(new SuspendMicrovmCommand({ microvmIdentifier: id })),
        (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
          assert.match(e.message, /disk full|no space/i, e.message);
          assert.ok((e.$metadata?.httpStatusCode ?? 0) < 600);
          return true;
        },
      );
      const m = await get(id);
      assert.equal(m.state, 'RUNNING');
      assert.match(m.stateReason ?? '', /suspend failed.*(disk full|no space)/i);
      await carriesOn(id);
      // The half-written checkpoint was removed: the space is back.
      assert.ok(
        (await freeBytes()) >= freeBefore - (64 << 10),
        `the failed checkpoint left ${freeBefore - (await freeBytes())} bytes behind`,
      );
      assert.deepEqual(
        (await fs.readdir(path.join(checkpoints, id)).catch(() => [] as string[])).filter((f) => f !== 'current'),
        [],
      );
    } finally {
      await fs.rm(filler, { force: true });
    }
    await suspend(id);
    const size = (await runCommand('du', ['-sb', path.join(checkpoints, id)])).stdout.split('\t')[0];
    console.error(`[checkpoint] one suspended counter app takes ${size} bytes`);
    await resume(id);
    await carriesOn(id);
    await client.send(new TerminateMicrovmCommand({ microvmIdentifier: id }));
    counters.delete(id);
  });

  test('a truncated or corrupted checkpoint: resume fails with the reason, the microVM stays SUSPENDED, others are untouched', async () => {
    const [truncated, digest, healthy, running] = [await run(), await run(), await run(), await run()];
    for (const id of [truncated, digest, healthy, running]) await carriesOn(id);
    // Together: each suspend waits ~1.6 s for its checkpointed sandbox to die.
    await Promise.all([truncated, digest, healthy].map(suspend));
    const cur = (id: string, f: string) => path.join(checkpoints, id, 'current', f);
    const pages = await fs.stat(cur(truncated, 'pages.img'));
    await fs.truncate(cur(truncated, 'pages.img'), Math.floor(pages.size / 2));
    // Same size, different bytes: only the digest can tell.
    const fh = await fs.open(cur(digest, 'checkpoint.img'), 'r+');
    try {
      const { size } = await fh.stat();
      await fh.write(Buffer.alloc(64, 0xa5), 0, 64, Math.floor(size / 2));
    } finally {
      await fh.close();
    }
    for (const [id, why] of [
      [truncated, /truncated|bytes, expected/],
      [digest, /digest|corrupt/],
    ] as const) {
      await assert.rejects(client.send(new ResumeMicrovmCommand({ microvmIdentifier: id })), (e: Error) => {
        assert.match(e.message, why, e.message);
        return true;
      });
      const m = await get(id);
      assert.equal(m.state, 'SUSPENDED', `${id} after a failed resume`);
      assert.match(m.stateReason ?? '', /resume failed/);
      assert.match(m.stateReason ?? '', why);
      // The evidence stays for the owner (or an operator) to look at.
      assert.ok(
        await fs.stat(cur(id, 'cubby-checkpoint.json')).then(
          () => true,
          () => false,
        ),
      );
    }
    await resume(healthy);
    await carriesOn(healthy);
    await carriesOn(running);
    await Promise.all(
      [truncated, digest, healthy, running].map((id) => client.send(new TerminateMicrovmCommand({ microvmIdentifier: id }))),
    );
    for (const id of [truncated, digest, healthy, running]) counters.delete(id);
    assert.deepEqual((await fs.readdir(checkpoints)).sort(), [], 'terminating removed every checkpoint, damaged ones included');
  });

  test('memory pages overwritten on disk (same size) are refused at resume, not restored as garbage', async () => {
    const id = await run();
    await carriesOn(id);
    await suspend(id);
    const file = path.join(checkpoints, id, 'current', 'pages.img');
    // Wait for the background digest of the pages (written into the manifest after the suspend).
    const manifest = path.join(checkpoints, id, 'current', 'cubby-checkpoint.json');
    const digested = async () =>
      fs.readFile(manifest, 'utf8').then(
        (t) => Boolean((JSON.parse(t) as { files?: Record<string, { sha256?: string }> }).files?.['pages.img']?.sha256),
        () => false,
      );
    for (const deadline = Date.now() + 15_000; !(await digested()); await sleep(50)) {
      assert.ok(Date.now() < deadline, 'the digest of pages.img was never written');
    }
    const fh = await fs.open(file, 'r+');
    try {
      const { size } = await fh.stat();
      for (let off = 0; off < size; off += 1 << 20) await fh.write(Buffer.alloc(4096, 0x5a), 0, 4096, off);
    } finally {
      await fh.close();
    }
    try {
      const r = await client.send(new ResumeMicrovmCommand({ microvmIdentifier: id })).then(
        () => 'resumed',
        (e: Error) => `refused: ${e.message}`,
      );
      const m = await get(id);
      const app =
        m.state === 'RUNNING'
          ? await call(id, '/state').then(
              (x) => `${x.status} ${x.body.slice(0, 100)}`,
              (e: Error) => e.message,
            )
          : '-';
      console.error(`[corrupted pages] resume ${r}; state ${m.state} (${m.stateReason ?? ''}); app: ${app}`);
      assert.match(r, /^refused: .*(digest|corrupt)/);
      assert.equal(m.state, 'SUSPENDED');
    } finally {
      await client.send(new TerminateMicrovmCommand({ microvmIdentifier: id }));
      counters.delete(id);
    }
  });
});
