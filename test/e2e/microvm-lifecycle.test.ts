/**
 * End to end, with real parts only (runsc sandboxes, buildah, SQLite, the official AWS client
 * over real sockets, the gateway): build an image from a zipped Dockerfile, launch microVMs from
 * its snapshot, suspend and resume them by hand and by policy, reach them through the gateway,
 * restart the daemon under them, terminate them, and check nothing leaks.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import {
  ResumeMicrovmCommand,
  RunMicrovmCommand,
  SuspendMicrovmCommand,
  TerminateMicrovmCommand,
  ConflictException,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { startTestDaemon, viaGateway, type TestDaemon } from '../support/daemon.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { buildCounterImage, COUNTER_HOOKS, endpointToken, waitForState } from './support.js';

const HOOKS = COUNTER_HOOKS;

describe('microVM lifecycle end to end', { timeout: 900_000 }, () => {
  let d: TestDaemon;
  let client: LambdaMicrovmsClient;
  let tmp: string;
  let baseline: Set<string>;
  const image = 'counter';

  async function state(id: string): Promise<Record<string, unknown>> {
    const r = await viaGateway(d, id, '/state', { token: await endpointToken(client, id) });
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as Record<string, unknown>;
  }
  async function bump(id: string, token?: string): Promise<number> {
    const r = await viaGateway(d, id, '/', { token: token ?? (await endpointToken(client, id)) });
    assert.equal(r.status, 200, r.body);
    return (JSON.parse(r.body) as { count: number }).count;
  }
  async function run(extra: Record<string, unknown> = {}) {
    return client.send(new RunMicrovmCommand({ imageIdentifier: image, runHookPayload: 'hello', ...extra }));
  }

  before(async () => {
    baseline = await hostResources();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-e2e-art-'));
    d = await startTestDaemon({ warmPool: 1 });
    client = (await d.tenant('lifecycle')).client;
    await buildCounterImage(client, tmp, { name: image, hooks: HOOKS, environmentVariables: { MODE: 'test' } });
  });

  after(async () => {
    await d?.destroy();
    await fs.rm(tmp, { recursive: true, force: true });
    await assertNoLeaks(baseline, [], 10_000);
  });

  test('launches resume from the snapshot: the app was started and initialised before, state is per launch', async () => {
    const t0 = Date.now();
    const [a, b, c] = await Promise.all([run({ runHookPayload: 'pa' }), run({ runHookPayload: 'pb' }), run({ runHookPayload: 'pc' })]);
    assert.ok(a && b && c);
    assert.equal(
      new Set([a.microvmId, b.microvmId, c.microvmId]).size,
      3,
      'three microVMs, whether from the warm pool or restored on demand',
    );
    for (const m of [a, b, c]) assert.equal(m.state, 'RUNNING');
    const sa = await state(a.microvmId ?? '');
    const sb = await state(b.microvmId ?? '');
    assert.equal(sa.ready, true, 'initialised during the build, before the snapshot');
    assert.ok(Number(sa.startedAt) * 1000 < t0, 'the app process started before any launch (it was restored, not booted)');
    assert.equal(sa.initToken, sb.initToken, 'state made before the snapshot is shared by every launch');
    assert.equal(sa.ballast, 2 * 1024 * 1024);
    assert.equal(sa.run, a.microvmId, 'the run hook got the microVM id');
    assert.equal(sa.payload, 'pa', 'and the caller payload');
    assert.notEqual(sa.seed, sb.seed, 'the run hook reseeded randomness per launch');
    assert.notEqual(sa.random, sb.random);
    assert.equal(await bump(a.microvmId ?? ''), 1);
    assert.equal(await bump(a.microvmId ?? ''), 2);
    assert.equal(await bump(b.microvmId ?? ''), 1, 'each launch has its own memory');
    // Together: each terminate waits ~1.6 s for its sandbox to die.
    await Promise.all([a, b, c].map((m) => client.send(new TerminateMicrovmCommand({ microvmIdentifier: m.microvmId }))));
  });

  test('20 suspend/resume cycles, manual and automatic, keep memory and processes exactly', async () => {
    const m = await run({ idlePolicy: { maxIdleDurationSeconds: 1, suspendedDurationSeconds: 600, autoResumeEnabled: true } });
    const id = m.microvmId ?? '';
    await assert.rejects(
      client.send(new ResumeMicrovmCommand({ microvmIdentifier: id })),
      ConflictException,
      'resume of a RUNNING microVM is a conflict',
    );
    const token = await endpointToken(client, id);
    let count = 0;
    for (let i = 0; i < 20; i++) {
      // A request resumes it if suspended (automatic resume); every other cycle resumes by API first.
      if (i % 4 === 3) {
        await client.send(new ResumeMicrovmCommand({ microvmIdentifier: id }));
        await waitForState(client, id, ['RUNNING']);
      }
      count = await bump(id, token);
      assert.equal(count, i + 1, `cycle ${i}: the counter continues`);
      if (i % 2 === 0) {
        await client.send(new SuspendMicrovmCommand({ microvmIdentifier: id })); // manual suspend
      }
      await waitForState(client, id, ['SUSPENDED'], 10_000); // odd cycles: the idle policy
    }
    assert.equal(await bump(id, token), 21);
    const s = await state(id);
    assert.equal(s.resumes, 20, 'the resume hook ran on every resume');
    assert.equal(s.suspends, 20, 'the suspend hook ran before every suspend');
    await assert.rejects(
      client
        .send(new SuspendMicrovmCommand({ microvmIdentifier: id }))
        .then(() => client.send(new SuspendMicrovmCommand({ microvmIdentifier: id }))),
      ConflictException,
      'suspend of a SUSPENDED microVM is a conflict',
    );
    await client.send(new TerminateMicrovmCommand({ microvmIdentifier: id }));
    await waitForState(client, id, ['TERMINATED']);
  });

  test('WebSockets pass through the gateway to the app', async () => {
    const m = await run();
    const id = m.microvmId ?? '';
    const token = await endpointToken(client, id);
    const ws = new WebSocket(
      `ws://127.0.0.1:${d.gatewayPort}/ws`,
      [`lambda-microvms.authentication.${token}`, 'lambda-microvms.port.8080'],
      {
        headers: { host: `${id}.${d.config.domain}:${d.gatewayPort}` },
      },
    );
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const echoes: string[] = [];
    ws.on('message', (data) => echoes.push(String(data)));
    for (const msg of ['one', 'two', 'x'.repeat(5000)]) ws.send(msg);
    const deadline = Date.now() + 10_000;
    while (echoes.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(echoes, ['one', 'two', 'x'.repeat(5000)]);
    ws.close();
    await client.send(new TerminateMicrovmCommand({ microvmIdentifier: id }));
  });

  test('idle policy: suspends within a second of maxIdle; traffic auto-resumes it with exactly one resume', async () => {
    const m = await run({ idlePolicy: { maxIdleDurationSeconds: 2, suspendedDurationSeconds: 600, autoResumeEnabled: true } });
    const id = m.microvmId ?? '';
    const token = await endpointToken(client, id);
    assert.equal(await bump(id, token), 1);
    const idleFrom = Date.now();
    // The policy acts when SUSPENDING begins; how long the checkpoint then takes is the machine's.
    await waitForState(client, id, ['SUSPENDING', 'SUSPENDED'], 10_000);
    const took = Date.now() - idleFrom;
    assert.ok(took >= 1900 && took <= 3000, `suspending began ${took} ms after the last request (policy: 2 s)`);
    await waitForState(client, id, ['SUSPENDED'], 10_000);
    const answers = await Promise.all(Array.from({ length: 8 }, () => viaGateway(d, id, '/', { token })));
    for (const r of answers) assert.equal(r.status, 200, r.body);
    const counts = answers.map((r) => (JSON.parse(r.body) as { count: number }).count).sort((x, y) => x - y);
    assert.deepEqual(counts, [2, 3, 4, 5, 6, 7, 8, 9], 'every held request was served once, by the same resumed process');
    assert.equal((await state(id)).resumes, 1, 'concurrent requests triggered exactly one resume');
    await client.send(new TerminateMicrovmCommand({ microvmIdentifier: id }));
  });

  test('suspendedDuration 0 terminates instead of suspending; maximum duration terminates', async () => {
    const a = await run({ idlePolicy: { maxIdleDurationSeconds: 1, suspendedDurationSeconds: 0, autoResumeEnabled: true } });
    const b = await run({ maximumDurationInSeconds: 2 });
    const ta = await waitForState(client, a.microvmId ?? '', ['TERMINATED'], 10_000);
    assert.match(ta.stateReason ?? '', /idle/);
    const tb = await waitForState(client, b.microvmId ?? '', ['TERMINATED'], 10_000);
    assert.match(tb.stateReason ?? '', /maximum duration/);
  });

  test('the gateway refuses missing, foreign and port-less tokens before the app sees them', async () => {
    const [a, b] = await Promise.all([run(), run()]);
    const ida = a.microvmId ?? '';
    const idb = b.microvmId ?? '';
    assert.equal((await viaGateway(d, ida, '/')).status, 401);
    assert.equal((await viaGateway(d, ida, '/', { token: await endpointToken(client, idb) })).status, 401, 'a token for B does not open A');
    assert.equal((await viaGateway(d, ida, '/', { token: await endpointToken(client, ida, [9000]) })).status, 403, 'port 8080 not allowed');
    assert.equal((await viaGateway(d, ida, '/state', { token: await endpointToken(client, ida, [9000, 8080]), port: 8080 })).status, 200);
    assert.equal((await state(ida)).count, 0, 'refused requests never reached the app');
    const sse = await viaGateway(d, ida, '/sse', { token: await endpointToken(client, ida) });
    assert.equal(sse.body, 'data: 0\n\ndata: 1\n\ndata: 2\n\n');
    await Promise.all([ida, idb].map((id) => client.send(new TerminateMicrovmCommand({ microvmIdentifier: id }))));
  });

  test('a daemon restart loses no session: running ones are re-adopted, suspended ones resume', async () => {
    const [a, b] = await Promise.all([run(), run()]);
    const ida = a.microvmId ?? '';
    const idb = b.microvmId ?? '';
    await bump(ida);
    await bump(ida);
    await bump(idb);
    await client.send(new SuspendMicrovmCommand({ microvmIdentifier: idb }));
    await waitForState(client, idb, ['SUSPENDED']);
    d = await d.restart();
    client = (await d.tenant('after-restart')).client;
    // The new tenant cannot see the old one's microVMs: reach them through the store's owner.
    const owner = await d.store.getMicrovmAny(ida);
    assert.equal(owner?.state, 'RUNNING');
    assert.equal((await d.store.getMicrovmAny(idb))?.state, 'SUSPENDED');
    const tenant = await d.store.getTenant(owner?.tenantId ?? '');
    assert.ok(tenant);
    const caller = { tenant };
    const tok = await d.core.services.tokens.createAuthToken(caller, ida, 5, 'all');
    const r = await viaGateway(d, ida, '/', { token: tok.token });
    assert.equal(JSON.parse(r.body).count, 3, 'the re-adopted microVM kept its memory');
    await d.core.services.microvms.resume(caller, idb);
    const tb = await d.core.services.tokens.createAuthToken(caller, idb, 5, 'all');
    assert.equal(JSON.parse((await viaGateway(d, idb, '/', { token: tb.token })).body).count, 2);
    await Promise.all([ida, idb].map((id) => d.core.services.microvms.terminate(caller, id)));
  });
});
