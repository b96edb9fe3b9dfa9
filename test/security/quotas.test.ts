/**
 * Per-tenant quotas against a real daemon (runsc sandboxes, SQLite, the official AWS client):
 * one tenant cannot take every slot, all the memory, pile up suspended microVMs, uploads or
 * builds; the host-wide cap answers InsufficientCapacityException; the last slot goes to exactly
 * one of several concurrent launches; and a refused attempt leaves nothing behind.
 * One image is built (by tenant A); tenant B gets the same built version recorded as its own.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateMicrovmImageCommand,
  GetMicrovmCommand,
  InsufficientCapacityException,
  ListMicrovmImagesCommand,
  ListMicrovmsCommand,
  ResumeMicrovmCommand,
  RunMicrovmCommand,
  ServiceQuotaExceededException,
  SuspendMicrovmCommand,
  TerminateMicrovmCommand,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { fixtureArtifact, startTestDaemon, viaGateway, type TestDaemon } from '../support/daemon.js';
import { assertNoDaemonLeaks, daemonResources } from '../support/daemon-leaks.js';
import { COUNTER_HOOKS, endpointToken, waitForVersion } from '../e2e/support.js';
import { ExtensionError, uploadArtifact } from '../../src/client/extension.js';
import { zipDirectory } from '../../src/cli/zip-dir.js';

const IMAGE = 'counter';
const MAX_ACTIVE = 3;

type Tenant = Awaited<ReturnType<TestDaemon['tenant']>>;

/** The quota error, with which quota, its limit and the use in the message. */
async function quotaRefused(p: Promise<unknown>, code: string, msg: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ServiceQuotaExceededException, `expected ServiceQuotaExceededException, got ${String(e)}`);
    assert.equal(e.$metadata.httpStatusCode, 402);
    assert.equal(e.quotaCode, code);
    assert.match(e.message, msg);
    return true;
  });
}

describe('per-tenant quotas, end to end', { timeout: 1_200_000 }, () => {
  let d: TestDaemon;
  let tmp: string;
  let baseline: Set<string>;
  let a: Tenant;
  let b: Tenant;
  const launched: Array<{ client: LambdaMicrovmsClient; id: string }> = [];

  const run = async (t: Tenant, extra: Record<string, unknown> = {}) => {
    const m = await t.client.send(new RunMicrovmCommand({ imageIdentifier: IMAGE, ...extra }));
    assert.equal(m.state, 'RUNNING');
    launched.push({ client: t.client, id: m.microvmId ?? '' });
    return m.microvmId ?? '';
  };
  const terminate = async (t: Tenant, id: string) => {
    await t.client.send(new TerminateMicrovmCommand({ microvmIdentifier: id }));
  };
  const state = async (t: Tenant, id: string) => (await t.client.send(new GetMicrovmCommand({ microvmIdentifier: id }))).state;
  const records = async (t: Tenant) => (await t.client.send(new ListMicrovmsCommand({}))).items?.length ?? 0;
  const answers = async (t: Tenant, id: string) => {
    const r = await viaGateway(d, id, '/', { token: await endpointToken(t.client, id) });
    assert.equal(r.status, 200, r.body);
  };
  const setQuota = (t: Tenant, q: Parameters<TestDaemon['store']['setQuotaOverrides']>[1]) => d.store.setQuotaOverrides(t.tenantId, q);

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-quota-art-'));
    d = await startTestDaemon({ maxActive: MAX_ACTIVE });
    baseline = await daemonResources(d.dataDir);
    a = await d.tenant('quota-a');
    b = await d.tenant('quota-b');
    // Builds quota: with one build allowed, A's second CreateMicrovmImage while the first is
    // still queued or building is refused, and leaves no image behind.
    await setQuota(a, { builds: 1 });
    const artifact = await fixtureArtifact('counter', tmp);
    const created = await a.client.send(
      new CreateMicrovmImageCommand({
        name: IMAGE,
        baseImageArn: 'debian-12-python',
        buildRoleArn: 'arn:aws:iam::000000000000:role/build',
        codeArtifact: { uri: artifact },
        hooks: COUNTER_HOOKS,
        resources: [{ minimumMemoryInMiB: 512 }],
      }),
    );
    assert.equal(created.imageVersion, '1.0');
    await quotaRefused(
      a.client.send(
        new CreateMicrovmImageCommand({
          name: 'second',
          baseImageArn: 'debian-12-python',
          buildRoleArn: 'arn:aws:iam::000000000000:role/build',
          codeArtifact: { uri: artifact },
          hooks: COUNTER_HOOKS,
        }),
      ),
      'QUOTA_BUILDS',
      /concurrent image builds.*limit 1, in use 1/,
    );
    const names = (await a.client.send(new ListMicrovmImagesCommand({}))).items?.map((i) => i.name) ?? [];
    assert.deepEqual(names, [IMAGE], 'the refused image was not recorded');
    const v = await waitForVersion(a.client, IMAGE, '1.0');
    assert.equal(v.state, 'SUCCESSFUL', v.stateReason);

    // B gets A's built version recorded as its own (same snapshot): one build for the suite.
    const imgA = await d.store.getImageByName(a.tenantId, IMAGE);
    const verA = imgA && (await d.store.getVersion(a.tenantId, imgA.id, '1.0'));
    assert.ok(imgA && verA?.snapshotPath);
    const imgB = await d.store.insertImage({ tenantId: b.tenantId, name: IMAGE, state: 'CREATED' });
    await d.store.insertVersion({
      imageId: imgB.id,
      tenantId: b.tenantId,
      version: '1.0',
      state: 'SUCCESSFUL',
      status: 'ACTIVE',
      settings: verA.settings,
      snapshotPath: verA.snapshotPath,
      ...(verA.rootfsPath ? { rootfsPath: verA.rootfsPath } : {}),
    });
    await d.store.updateImage(b.tenantId, imgB.id, { latestActiveVersion: '1.0' });
  });

  after(async () => {
    // Together: each terminate waits ~1.6 s for its sandbox to die.
    await Promise.all(launched.map((m) => m.client.send(new TerminateMicrovmCommand({ microvmIdentifier: m.id })).catch(() => undefined)));
    const dataDir = d?.dataDir;
    await d?.stop();
    if (dataDir) {
      await assertNoDaemonLeaks(dataDir, baseline, 20_000);
      await fs.rm(dataDir, { recursive: true, force: true });
    }
    await fs.rm(tmp, { recursive: true, force: true });
  });

  test("running quota: A's second launch is refused with which quota, its limit and use; B still launches; nothing is left of the refusal", async () => {
    await setQuota(a, { running: 1 });
    const a1 = await run(a);
    const before = await records(a);
    await quotaRefused(
      a.client.send(new RunMicrovmCommand({ imageIdentifier: IMAGE })),
      'QUOTA_RUNNING_MICROVMS',
      /running microVMs \(running\): limit 1, in use 1/,
    );
    assert.equal(await records(a), before, 'no record (PENDING or TERMINATED) of the refused launch');
    const b1 = await run(b);
    await answers(b, b1);
    await answers(a, a1);

    // The host cap: A may have more now, but the host holds MAX_ACTIVE sandboxes at most.
    await setQuota(a, { running: 10 });
    const a2 = await run(a);
    await assert.rejects(b.client.send(new RunMicrovmCommand({ imageIdentifier: IMAGE })), (e: unknown) => {
      assert.ok(e instanceof InsufficientCapacityException, `expected InsufficientCapacityException, got ${String(e)}`);
      assert.equal(e.$metadata.httpStatusCode, 500);
      assert.match(e.message, new RegExp(`maximum of ${MAX_ACTIVE} active microVMs`));
      return true;
    });
    await Promise.all([terminate(a, a2), terminate(b, b1)]);
  });

  test("memory quota: a launch whose baseline memory would pass the tenant's MiB is refused", async () => {
    // A has one 512 MiB microVM running.
    await setQuota(a, { running: 10, memoryMiB: 768 });
    await quotaRefused(
      a.client.send(new RunMicrovmCommand({ imageIdentifier: IMAGE })),
      'QUOTA_MEMORY',
      /memory of running microVMs.*limit 768, in use 512; this needs 512 more/,
    );
    await setQuota(a, { memoryMiB: 1024 });
    const a3 = await run(a);
    await terminate(a, a3);
  });

  test('suspended quota: SuspendMicrovm beyond it is refused and the microVM stays RUNNING and answering; resume and launch check too', async () => {
    const a1 = launched.find((m) => m.client === a.client && m.id)?.id ?? '';
    assert.equal(await state(a, a1), 'RUNNING');
    await setQuota(a, { suspended: 0 });
    await quotaRefused(
      a.client.send(new SuspendMicrovmCommand({ microvmIdentifier: a1 })),
      'QUOTA_SUSPENDED_MICROVMS',
      /suspended microVMs.*limit 0, in use 0/,
    );
    assert.equal(await state(a, a1), 'RUNNING');
    await answers(a, a1);

    await setQuota(a, { suspended: 1 });
    await a.client.send(new SuspendMicrovmCommand({ microvmIdentifier: a1 }));
    assert.equal(await state(a, a1), 'SUSPENDED');
    // Over the suspended quota (the operator lowered it): new launches are refused too.
    await setQuota(a, { suspended: 0 });
    await quotaRefused(a.client.send(new RunMicrovmCommand({ imageIdentifier: IMAGE })), 'QUOTA_SUSPENDED_MICROVMS', /over the limit/);
    // Resume checks the running quota; refused, it stays SUSPENDED with its checkpoint.
    await setQuota(a, { running: 0 });
    await quotaRefused(a.client.send(new ResumeMicrovmCommand({ microvmIdentifier: a1 })), 'QUOTA_RUNNING_MICROVMS', /limit 0, in use 0/);
    assert.equal(await state(a, a1), 'SUSPENDED');
    await d.store.clearQuotaOverrides(a.tenantId);
    await a.client.send(new ResumeMicrovmCommand({ microvmIdentifier: a1 }));
    assert.equal(await state(a, a1), 'RUNNING');
    await answers(a, a1);
  });

  test('idle policy over the suspended quota: the microVM stays RUNNING (state kept) instead of suspending', async () => {
    await setQuota(a, { suspended: 0 });
    const idle = await run(a, { idlePolicy: { maxIdleDurationSeconds: 1, suspendedDurationSeconds: 600, autoResumeEnabled: true } });
    await answers(a, idle);
    await new Promise((r) => setTimeout(r, 3500)); // past maxIdle: the policy tried and was refused
    assert.equal(await state(a, idle), 'RUNNING');
    const r = await viaGateway(d, idle, '/', { token: await endpointToken(a.client, idle) });
    assert.equal(r.status, 200, r.body);
    assert.equal((JSON.parse(r.body) as { count: number }).count, 2, 'the same session: its counter kept counting');
    await d.store.clearQuotaOverrides(a.tenantId);
    await terminate(a, idle);
  });

  test('the last slot: of three concurrent launches exactly one wins', async () => {
    await setQuota(a, { running: 2 }); // a1 runs: one slot left
    const before = await records(a);
    const results = await Promise.allSettled([0, 1, 2].map(() => a.client.send(new RunMicrovmCommand({ imageIdentifier: IMAGE }))));
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1, JSON.stringify(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))));
    for (const r of results) {
      if (r.status === 'rejected') assert.ok(r.reason instanceof ServiceQuotaExceededException, String(r.reason));
      else launched.push({ client: a.client, id: r.value.microvmId ?? '' });
    }
    assert.equal(await records(a), before + 1, 'only the winner left a record');
    const winner = won[0]?.status === 'fulfilled' ? (won[0].value.microvmId ?? '') : '';
    await terminate(a, winner);
  });

  test('uploads quota: past the count the PUT is refused; removing an upload (as the GC does) frees it', async () => {
    await setQuota(b, { artifacts: 1 });
    const src = path.join(tmp, 'tiny');
    await fs.mkdir(src, { recursive: true });
    await fs.writeFile(path.join(src, 'Dockerfile'), 'FROM debian-12-python\n');
    const zip = path.join(tmp, 'tiny.zip');
    await zipDirectory(src, zip);
    const uri = await uploadArtifact(zip, b.client);
    await assert.rejects(uploadArtifact(zip, b.client), (e: unknown) => {
      assert.ok(e instanceof ExtensionError, String(e));
      assert.equal(e.name, 'ServiceQuotaExceededException');
      assert.equal(e.status, 402);
      assert.match(e.message, /uploaded artifacts \(artifacts\): limit 1, in use 1/);
      return true;
    });
    const dir = path.join(d.dataDir, 'artifacts', b.tenantId);
    assert.deepEqual(await fs.readdir(dir), [`${uri.slice('cubby-artifact://'.length)}.zip`], 'nothing of the refused upload on disk');
    // A uses its own quota.
    await uploadArtifact(zip, a.client);
    await fs.rm(path.join(dir, `${uri.slice('cubby-artifact://'.length)}.zip`));
    await uploadArtifact(zip, b.client);
  });

  test("quotas are visible: /metrics has each tenant's limit and use", async () => {
    await setQuota(b, { running: 7 });
    const text = await new Promise<string>((resolve, reject) => {
      http
        .get(`${d.apiUrl}/metrics`, (res) => {
          let s = '';
          res.on('data', (c: Buffer) => (s += c.toString()));
          res.on('end', () => resolve(s));
        })
        .on('error', reject);
    });
    const bName = (await d.store.getTenant(b.tenantId))?.name ?? '';
    assert.match(text, new RegExp(`cubby_tenant_quota_limit\\{tenant="${bName}",quota="running_microvms"\\} 7`));
    assert.match(text, new RegExp(`cubby_tenant_quota_used\\{tenant="${bName}",quota="artifacts"\\} 1`));
    assert.match(text, new RegExp(`cubby_tenant_quota_limit\\{tenant="${bName}",quota="builds"\\} 2`), 'the default where no override');
  });
});
