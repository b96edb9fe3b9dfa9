/**
 * The browser automation sandbox (debian-12-chromium): RunMicrovm call start -> a Playwright CDP
 * connection through the gateway that has loaded a page (goto + evaluate), cold and with a
 * refilled warm pool; beside it, starting Chromium from scratch in the same (running) sandbox,
 * through the same gateway, to the same loaded page. Then what an idle browser microVM costs:
 * memory (cgroup) and the checkpoint a suspend writes.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateMicrovmImageCommand,
  LambdaMicrovmsClient,
  RunMicrovmCommand,
  SuspendMicrovmCommand,
  TerminateMicrovmCommand,
} from '@aws-sdk/client-lambda-microvms';
import { chromium } from 'playwright-core';
import { withCubbyMembers } from '../src/client/cubby-members.js';
import { CDP_PORT } from '../src/images/base/chromium-launcher.js';
import { ensureTestBaseImage } from '../test/support/base-image.js';
import { fixtureArtifact, startTestDaemon, type TestDaemon } from '../test/support/daemon.js';
import { resolveLocalhostNames } from '../test/support/localhost-dns.js';
import { shellExec, shellToken } from '../test/support/sandbox-shell.js';
import { endpointToken, waitForVersion } from '../test/e2e/support.js';
import { cgroupUsage, cubbyCgroup, diskBytes } from './support/proc-usage.js';
import { printGoal, printTable, timed, type Row } from './support/stats.js';

const IMAGE = 'browser';
const MiB = 1024 * 1024;
/** A second browser in the same sandbox, for the from-scratch comparison. */
const SCRATCH_PORT = 9300;
const PAGE = 'data:text/html,<title>bench</title><h1>hello</h1>';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Ctx {
  d: TestDaemon;
  client: LambdaMicrovmsClient;
}

/** Connects over CDP through the endpoint, loads PAGE in a new tab and evaluates in it; closes the connection. */
async function loadPage(c: Ctx, id: string, token: string, port = CDP_PORT): Promise<void> {
  const browser = await chromium.connectOverCDP(`http://${id}.${c.d.config.domain}:${c.d.gatewayPort}`, {
    headers: { 'x-aws-proxy-auth': token, 'x-aws-proxy-port': String(port) },
    timeout: 30_000,
  });
  try {
    // The tab the browser started with (in the snapshot, its renderer is already running): a new
    // tab would add a renderer process start, ~0.5 s under gVisor.
    const context = browser.contexts()[0] ?? (await browser.newContext());
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(PAGE);
    if ((await page.evaluate('document.title')) !== 'bench') throw new Error('the page did not load');
  } finally {
    // On a CDP-connected browser this only disconnects: the browser in the microVM lives on.
    await browser.close().catch(() => undefined);
  }
}

async function launch(c: Ctx, live: string[]): Promise<{ ms: number; id: string }> {
  const t0 = performance.now();
  const m = await c.client.send(new RunMicrovmCommand({ imageIdentifier: IMAGE }));
  const id = m.microvmId ?? '';
  live.push(id);
  // A client holds its token before it needs it; minting is an API round trip the launch would not have.
  const tokenStart = performance.now();
  const token = await endpointToken(c.client, id, [CDP_PORT, SCRATCH_PORT]);
  const tokenMs = performance.now() - tokenStart;
  await loadPage(c, id, token);
  return { ms: performance.now() - t0 - tokenMs, id };
}

async function terminate(c: Ctx, live: string[]): Promise<void> {
  for (const id of live.splice(0)) await c.client.send(new TerminateMicrovmCommand({ microvmIdentifier: id })).catch(() => undefined);
}

async function waitForPool(d: TestDaemon, size: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (d.core.launcher.pooledIds().length < size) {
    if (Date.now() > deadline) throw new Error(`warm pool did not refill to ${size} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Starts a second Chromium (the base's launcher, another port and profile) by a shell in the microVM, until a page loaded over CDP. */
async function fromScratch(c: Ctx, id: string): Promise<number> {
  const token = await endpointToken(c.client, id, [CDP_PORT, SCRATCH_PORT]);
  const shell = await shellToken(c.client, id);
  const target = { gatewayPort: c.d.gatewayPort, domain: c.d.config.domain };
  const profile = `/tmp/scratch-${Math.random().toString(36).slice(2, 8)}`;
  const t0 = performance.now();
  const started = await shellExec(
    target,
    id,
    shell,
    `CDP_PORT=${SCRATCH_PORT} CHROMIUM_PROFILE=${profile} nohup cubby-chromium >/tmp/scratch.log 2>&1 & echo $! > /tmp/scratch.pid; echo started`,
  );
  if (!started.output.includes('started')) throw new Error(`could not start chromium: ${started.output}`);
  for (;;) {
    try {
      await loadPage(c, id, token, SCRATCH_PORT);
      break;
    } catch (e) {
      if (performance.now() - t0 > 60_000) throw e;
      await sleep(25);
    }
  }
  const ms = performance.now() - t0;
  // The launcher's TERM trap stops its Chromium and relay.
  await shellExec(target, id, shell, 'kill $(cat /tmp/scratch.pid); true');
  return ms;
}

export async function chromiumBench(reps = 5): Promise<Row[]> {
  await ensureTestBaseImage('debian-12-chromium');
  const undoDns = resolveLocalhostNames();
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-bench-chromium-'));
  const rows = {
    cold: { metric: 'cold: RunMicrovm start -> CDP connection via gateway with a page loaded', cubby: [] as number[], raw: [] as number[] },
    warm: {
      metric: 'warm pool (refilled): RunMicrovm start -> CDP connection with a page loaded',
      cubby: [] as number[],
      raw: [] as number[],
      goal: 'p50 < 500 ms',
    },
    mem: { metric: 'idle browser microVM: memory (cgroup rss+shmem)', cubby: [] as number[], unit: 'MiB' },
    pss: { metric: 'idle browser microVM: PSS of its runsc processes', cubby: [] as number[], unit: 'MiB' },
    snap: { metric: "image snapshot's memory file (browser started)", cubby: [] as number[], unit: 'MiB' },
    ckpt: { metric: 'SUSPENDED idle browser microVM: checkpoint on disk (allocated)', cubby: [] as number[], unit: 'MiB' },
  };
  const scratch: number[] = [];
  const live: string[] = [];
  let c: Ctx | undefined;
  let dataDir: string | undefined;
  try {
    // ---- warm pool off: build once, then cold launches
    const d0 = await startTestDaemon({ warmPool: 0 });
    dataDir = d0.dataDir;
    const tenant = await d0.tenant('bench-browser');
    c = { d: d0, client: tenant.client };
    const [buildMs] = await timed(async () => {
      await c!.client.send(
        withCubbyMembers(
          new CreateMicrovmImageCommand({
            name: IMAGE,
            baseImageArn: 'debian-12-chromium',
            buildRoleArn: 'arn:aws:iam::000000000000:role/build',
            codeArtifact: { uri: await fixtureArtifact('chromium', tmp) },
            resources: [{ minimumMemoryInMiB: 1024 }],
          }),
          { cubbyAddressSpaceMiB: 0, cubbyMaxProcesses: 512 },
        ),
      );
      const v = await waitForVersion(c!.client, IMAGE, '1.0', 900_000);
      if (v.state !== 'SUCCESSFUL') throw new Error(`the browser image failed: ${v.stateReason}`);
    });
    console.log(`\n(the browser image built in ${(buildMs / 1000).toFixed(1)} s)`);
    // Warm-up, untimed: the first restore reads the snapshot from disk.
    await launch(c, live);
    await terminate(c, live);
    for (let i = 0; i < reps; i++) {
      const { ms, id } = await launch(c, live);
      rows.cold.cubby.push(ms);
      // Comparison in that same sandbox: a browser started from nothing.
      scratch.push(await fromScratch(c, id));
      await terminate(c, live);
    }
    rows.cold.raw = scratch;
    rows.warm.raw = scratch;

    // ---- idle cost of one browser microVM, then its checkpoint
    const idle = await launch(c, live);
    await sleep(5000);
    const u = await cgroupUsage(await cubbyCgroup(idle.id));
    rows.mem.cubby.push(u.memBytes / MiB);
    rows.pss.cubby.push(u.pssBytes / MiB);
    const img = await c.d.store.getImageByName((await c.d.store.getMicrovmAny(idle.id))?.tenantId ?? '', IMAGE);
    const builds = img ? await c.d.store.listBuilds(img.tenantId, img.id, '1.0') : undefined;
    const snap = builds?.items.find((b) => b.memorySnapshotBytes)?.memorySnapshotBytes;
    if (snap) rows.snap.cubby.push(snap / MiB);
    await c.client.send(new SuspendMicrovmCommand({ microvmIdentifier: idle.id }));
    const ck = (await c.d.store.getMicrovmAny(idle.id))?.checkpointPath;
    if (ck) rows.ckpt.cubby.push((await diskBytes(ck)) / MiB);
    await terminate(c, live);
    await c.d.stop();
    c = undefined;

    // ---- warm pool of one, refilled before each launch
    const d1 = await startTestDaemon({ dataDir, warmPool: 1 });
    // The same tenant's keys (kept in the store) on the new daemon's API.
    c = {
      d: d1,
      client: new LambdaMicrovmsClient({
        endpoint: d1.apiUrl,
        region: 'local',
        maxAttempts: 1,
        credentials: { accessKeyId: tenant.accessKeyId, secretAccessKey: tenant.secretAccessKey },
      }),
    };
    // The pool of a version starts with its first launch on this daemon (untimed).
    await launch(c, live);
    await terminate(c, live);
    for (let i = 0; i < reps; i++) {
      await waitForPool(d1, 1);
      rows.warm.cubby.push((await launch(c, live)).ms);
      await terminate(c, live);
    }
  } finally {
    if (c) {
      await terminate(c, live);
      await c.d.stop();
    }
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
    await fs.rm(tmp, { recursive: true, force: true });
    undoDns();
  }
  const table = Object.values(rows);
  printTable('Browser sandbox (debian-12-chromium; "raw runsc" column: Chromium started from scratch in the same sandbox)', table);
  printGoal('warm-pool RunMicrovm -> CDP page loaded p50', rows.warm.cubby, undefined, 500);
  return table;
}
