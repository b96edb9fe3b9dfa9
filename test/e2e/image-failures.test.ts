/**
 * Image builds that must fail, each with FAILED, a reason and a log, and nothing left behind;
 * and new versions that must not disturb microVMs running older ones.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateMicrovmImageCommand, DeleteMicrovmImageVersionCommand, GetMicrovmImageCommand, ConflictException,
  RunMicrovmCommand, TerminateMicrovmCommand, UpdateMicrovmImageCommand, type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { fixtureArtifact, startTestDaemon, viaGateway, type TestDaemon } from '../support/daemon.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { makeZip } from '../support/zip-writer.js';
import { endpointToken, waitForVersion } from './support.js';

const HOOKS = {
  port: 9000,
  microvmHooks: { run: 'ENABLED' },
  microvmImageHooks: { ready: 'ENABLED', readyTimeoutInSeconds: 4, validate: 'ENABLED', validateTimeoutInSeconds: 5 },
} as const;

describe('image build failures and versions', { timeout: 600_000 }, () => {
  let d: TestDaemon;
  let client: LambdaMicrovmsClient;
  let caller: { tenant: NonNullable<Awaited<ReturnType<TestDaemon['store']['getTenant']>>> };
  let tmp: string;
  let baseline: Set<string>;

  const create = (name: string, uri: string, extra: Record<string, unknown> = {}) => client.send(new CreateMicrovmImageCommand({
    name, baseImageArn: 'debian-12-python', buildRoleArn: 'arn:aws:iam::000000000000:role/build', codeArtifact: { uri }, hooks: HOOKS, ...extra,
  }));

  before(async () => {
    baseline = await hostResources();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-e2e-fail-'));
    d = await startTestDaemon();
    const t = await d.tenant('failures');
    client = t.client;
    const tenant = await d.store.getTenant(t.tenantId);
    assert.ok(tenant);
    caller = { tenant };
  });
  after(async () => {
    await d?.destroy();
    await fs.rm(tmp, { recursive: true, force: true });
    await assertNoLeaks(baseline, [], 10_000);
  });

  async function expectFailed(name: string, version: string, reason: RegExp, log?: RegExp): Promise<void> {
    const v = await waitForVersion(client, name, version);
    assert.equal(v.state, 'FAILED');
    assert.match(v.stateReason ?? '', reason);
    const img = await client.send(new GetMicrovmImageCommand({ imageIdentifier: name }));
    assert.equal(img.latestFailedImageVersion, version);
    if (log) assert.match(await d.core.services.images.buildLog(caller, name, version), log);
    const dir = path.join(d.dataDir, 'images');
    for (const sub of ['rootfs', 'snapshot', 'context']) {
      const leftovers = (await fs.readdir(dir, { recursive: true }).catch(() => [] as string[])).filter((f) => String(f).endsWith(`/${version}/${sub}`));
      assert.deepEqual(leftovers, [], `a failed build leaves no ${sub}`);
    }
  }

  test('a failing RUN step', async () => {
    await create('run-fails', await fixtureArtifact('run-fails', tmp));
    await expectFailed('run-fails', '1.0', /42|RUN|build/i, /about to fail/);
  });

  test('an app that never gets ready', async () => {
    await create('never-ready', await fixtureArtifact('counter', tmp), { environmentVariables: { NEVER_READY: '1' } });
    await expectFailed('never-ready', '1.0', /never got ready/, /ready hook/);
  });

  test('a validate hook that fails', async () => {
    await create('bad-validate', await fixtureArtifact('counter', tmp), { environmentVariables: { VALIDATE_FAILS: '1' } });
    await expectFailed('bad-validate', '1.0', /validation failed/, /validating/);
  });

  test('hostile and broken artifacts', async () => {
    const traversal = path.join(tmp, 'traversal.zip');
    await fs.writeFile(traversal, makeZip([{ name: 'Dockerfile', data: 'FROM debian-12-python\n' }, { name: '../../escaped.txt', data: 'x' }]));
    await create('traversal', `file://${traversal}`);
    await expectFailed('traversal', '1.0', /path|outside|unsafe|\.\./i);
    const noDockerfile = path.join(tmp, 'empty.zip');
    await fs.writeFile(noDockerfile, makeZip([{ name: 'app.py', data: 'print(1)' }]));
    await create('no-dockerfile', `file://${noDockerfile}`);
    await expectFailed('no-dockerfile', '1.0', /Dockerfile/);
    await create('wrong-base', await fixtureArtifact('counter', tmp), { baseImageArn: 'debian-12-minimal' });
    await expectFailed('wrong-base', '1.0', /FROM|base/i);
    await create('outside-roots', 'file:///etc/passwd');
    await expectFailed('outside-roots', '1.0', /outside the allowed|not a zip|artifact/i);
    await fs.access(path.join(tmp, '..', '..', 'escaped.txt')).then(() => assert.fail('traversal wrote outside the build'), () => undefined);
  });

  test('a new version never disturbs microVMs of the old one; a used version cannot be deleted', async () => {
    await create('versioned', await fixtureArtifact('counter', tmp));
    assert.equal((await waitForVersion(client, 'versioned', '1.0')).state, 'SUCCESSFUL');
    const m = await client.send(new RunMicrovmCommand({ imageIdentifier: 'versioned' }));
    const id = m.microvmId ?? '';
    const token = await endpointToken(client, id);
    assert.equal((await viaGateway(d, id, '/', { token })).status, 200);
    const up = await client.send(new UpdateMicrovmImageCommand({
      imageIdentifier: 'versioned', baseImageArn: 'debian-12-python', buildRoleArn: 'arn:aws:iam::000000000000:role/build',
      codeArtifact: { uri: await fixtureArtifact('counter', tmp) }, hooks: HOOKS, environmentVariables: { V: '2' },
    }));
    assert.equal(up.imageVersion, '1.1');
    assert.equal((await waitForVersion(client, 'versioned', '1.1')).state, 'SUCCESSFUL');
    assert.equal(JSON.parse((await viaGateway(d, id, '/', { token })).body).count, 2, 'the 1.0 microVM kept running through the 1.1 build');
    await assert.rejects(client.send(new DeleteMicrovmImageVersionCommand({ imageIdentifier: 'versioned', imageVersion: '1.0' })), ConflictException);
    const m2 = await client.send(new RunMicrovmCommand({ imageIdentifier: 'versioned' }));
    assert.equal(m2.imageVersion, '1.1', 'new launches take the latest active version');
    for (const x of [id, m2.microvmId]) await client.send(new TerminateMicrovmCommand({ microvmIdentifier: x }));
    await client.send(new DeleteMicrovmImageVersionCommand({ imageIdentifier: 'versioned', imageVersion: '1.0' }));
  });
});
