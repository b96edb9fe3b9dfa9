/**
 * The E2B control plane against a real daemon with the REAL `e2b` SDK (2.51.0): create, list with
 * filters and paging, getInfo, setTimeout, pause/connect with the app's state kept, kill, keys
 * refused across tenants / wrong / revoked, error shapes with nothing recorded, and the sandbox
 * as a Lambda microVM. Only control-plane calls: the in-sandbox agent is not injected yet, so
 * commands/files (the data plane) are not exercised here; the app's state is read through the
 * Lambda endpoint gateway instead.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateMicrovmImageCommand,
  GetMicrovmCommand,
  ListMicrovmsCommand,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { AuthenticationError, Sandbox, SandboxNotFoundError } from 'e2b';
import { fixtureArtifact, startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { COUNTER_LIFECYCLE_HOOKS, bumpCounter, waitForVersion } from './support.js';

const TEMPLATE = 'counter';

describe('E2B control plane with the real e2b SDK', { timeout: 900_000 }, () => {
  let d: TestDaemon;
  let a: LambdaMicrovmsClient;
  let keyA = '';
  let keyB = '';
  let tenantA = '';
  let tmp = '';
  let baseline: Set<string>;
  const created = new Set<string>();
  const opts = (apiKey = keyA) => ({ apiKey, apiUrl: d.apiUrl, domain: d.config.domain, requestTimeoutMs: 120_000 });

  const bump = (id: string): Promise<number> => bumpCounter(d, a, id);

  before(async () => {
    baseline = await hostResources();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-e2e-e2b-'));
    d = await startTestDaemon();
    const ta = await d.tenant('e2b-a');
    const tb = await d.tenant('e2b-b');
    a = ta.client;
    tenantA = ta.tenantId;
    keyA = (await d.store.createE2bKey(ta.tenantId)).apiKey;
    keyB = (await d.store.createE2bKey(tb.tenantId)).apiKey;
    await a.send(
      new CreateMicrovmImageCommand({
        name: TEMPLATE,
        baseImageArn: 'debian-12-python',
        buildRoleArn: 'arn:aws:iam::000000000000:role/build',
        codeArtifact: { uri: await fixtureArtifact('counter', tmp) },
        hooks: COUNTER_LIFECYCLE_HOOKS,
        resources: [{ minimumMemoryInMiB: 512 }],
      }),
    );
    const v = await waitForVersion(a, TEMPLATE, '1.0');
    assert.equal(v.state, 'SUCCESSFUL', v.stateReason);
  });

  after(async () => {
    for (const id of created) await Sandbox.kill(id, opts()).catch(() => undefined);
    await d?.destroy();
    await fs.rm(tmp, { recursive: true, force: true });
    await assertNoLeaks(baseline, [], 10_000);
  });

  let first = '';
  let second = '';

  test('Sandbox.create makes a microVM of the tenant, visible in ListMicrovms', async () => {
    const s = await Sandbox.create(TEMPLATE, { ...opts(), metadata: { suite: 'e2b', n: '1' }, timeoutMs: 300_000 });
    first = s.sandboxId;
    created.add(first);
    assert.match(first, /^[a-z0-9]{20}$/);
    // The gateway's port is part of the domain (it is not on 443): the SDK's host names reach it.
    assert.equal(s.sandboxDomain, `${d.config.domain}:${d.gatewayPort}`);
    const t = await Sandbox.create(TEMPLATE, { ...opts(), metadata: { suite: 'e2b', n: '2' }, timeoutMs: 300_000 });
    second = t.sandboxId;
    created.add(second);
    const listed = await a.send(new ListMicrovmsCommand({}));
    const ids = (listed.items ?? []).map((m) => m.microvmId);
    assert.ok(ids.includes(first) && ids.includes(second), 'both sandboxes are microVMs in ListMicrovms');
    assert.equal((await a.send(new GetMicrovmCommand({ microvmIdentifier: first }))).state, 'RUNNING');
  });

  test('getInfo, list with filters and paging', async () => {
    const info = await Sandbox.getInfo(first, opts());
    assert.equal(info.sandboxId, first);
    assert.equal(info.templateId, TEMPLATE);
    assert.equal(info.state, 'running');
    assert.equal(info.envdVersion, '0.6.4');
    assert.deepEqual(info.metadata, { suite: 'e2b', n: '1' });
    assert.equal(info.memoryMB, 512);

    const pager = Sandbox.list({ ...opts(), query: { metadata: { suite: 'e2b' }, state: ['running'] }, limit: 1 });
    const seen: string[] = [];
    while (pager.hasNext) seen.push(...(await pager.nextItems()).map((x) => x.sandboxId));
    assert.deepEqual(seen, [second, first], 'newest first, one per page');
    const only2 = await Sandbox.list({ ...opts(), query: { metadata: { n: '2' } } }).nextItems();
    assert.deepEqual(
      only2.map((x) => x.sandboxId),
      [second],
    );
    const paused = await Sandbox.list({ ...opts(), query: { state: ['paused'] } }).nextItems();
    assert.deepEqual(paused, []);
  });

  test('setTimeout moves endAt; pause keeps the app state; connect resumes it', async () => {
    await Sandbox.setTimeout(first, 200_000, opts());
    const info = await Sandbox.getInfo(first, opts());
    assert.ok(Math.abs(info.endAt.getTime() - (Date.now() + 200_000)) < 5000, `endAt ${info.endAt.toISOString()}`);

    assert.equal(await bump(first), 1);
    assert.equal(await bump(first), 2);
    const s = await Sandbox.connect(first, opts());
    assert.equal(await s.pause(), true);
    assert.equal(await Sandbox.pause(first, opts()), false, 'already paused');
    assert.equal((await Sandbox.getInfo(first, opts())).state, 'paused');
    const paused = await Sandbox.list({ ...opts(), query: { state: ['paused'] } }).nextItems();
    assert.deepEqual(
      paused.map((x) => x.sandboxId),
      [first],
    );

    const back = await Sandbox.connect(first, { ...opts(), timeoutMs: 100_000 });
    assert.equal(back.sandboxId, first);
    assert.equal((await Sandbox.getInfo(first, opts())).state, 'running');
    assert.equal(await bump(first), 3, 'the app kept its memory across pause and connect');
  });

  test("another tenant's key, a wrong key and a revoked key are refused", async () => {
    await assert.rejects(Sandbox.getInfo(first, opts(keyB)), SandboxNotFoundError);
    assert.equal(await Sandbox.kill(first, opts(keyB)), false);
    await assert.rejects(Sandbox.setTimeout(first, 10_000, opts(keyB)), SandboxNotFoundError);
    await assert.rejects(Sandbox.list(opts(`e2b_${'0'.repeat(40)}`)).nextItems(), AuthenticationError);
    const extra = await d.store.createE2bKey(tenantA);
    assert.equal((await Sandbox.getInfo(first, opts(extra.apiKey))).sandboxId, first);
    await d.store.revokeE2bKey(extra.keyId);
    await assert.rejects(Sandbox.getInfo(first, opts(extra.apiKey)), AuthenticationError);
    assert.equal((await Sandbox.getInfo(first, opts())).state, 'running', 'untouched');
  });

  test('malformed JSON and unknown templates: E2B error shapes, nothing recorded', async () => {
    const before = ((await a.send(new ListMicrovmsCommand({}))).items ?? []).length;
    await assert.rejects(Sandbox.create('no-such-template', opts()), /template 'no-such-template' not found/);
    const raw = async (body: string) => {
      const r = await fetch(`${d.apiUrl}/v2/sandboxes`, {
        method: 'POST',
        headers: { 'x-api-key': keyA, 'content-type': 'application/json' },
        body,
      });
      return { status: r.status, body: (await r.json()) as unknown };
    };
    assert.deepEqual(await raw('{"templateID":'), { status: 400, body: { code: 400, message: 'request body is not valid JSON' } });
    assert.deepEqual(await raw('{"templateID":"nope"}'), { status: 404, body: { code: 404, message: "template 'nope' not found" } });
    assert.equal(((await a.send(new ListMicrovmsCommand({}))).items ?? []).length, before);
  });

  test('kill ends the sandbox; kill again answers false', async () => {
    assert.equal(await Sandbox.kill(second, opts()), true);
    assert.equal(await Sandbox.kill(second, opts()), false);
    await assert.rejects(Sandbox.getInfo(second, opts()), SandboxNotFoundError);
    assert.equal((await a.send(new GetMicrovmCommand({ microvmIdentifier: second }))).state, 'TERMINATED');
    const s = await Sandbox.connect(first, opts());
    await s.kill();
    assert.equal(await Sandbox.kill(first, opts()), false);
    created.clear();
  });
});
