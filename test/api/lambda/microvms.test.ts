/**
 * The microVM operations through the official client over a real socket: run, get, list (with
 * pagination and filters), suspend, resume, terminate, and their conflicts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConflictException,
  CreateMicrovmImageCommand,
  GetMicrovmCommand,
  ListMicrovmsCommand,
  ResourceNotFoundException,
  ResumeMicrovmCommand,
  RunMicrovmCommand,
  SuspendMicrovmCommand,
  TerminateMicrovmCommand,
  UpdateMicrovmImageCommand,
  UpdateMicrovmImageVersionCommand,
  paginateListMicrovms,
} from '@aws-sdk/client-lambda-microvms';
import { DOMAIN, GATEWAY_PORT, KEY_A, imageArn, startHarness, type Harness } from './support/harness.js';
import { imageInput } from './support/fixtures.js';
import { addressPolicy } from '../../../src/util/address-policy.js';

async function withImage(h: Harness, name = 'app', egress?: string[]): Promise<void> {
  await h.client().send(new CreateMicrovmImageCommand(imageInput(name, egress ? { egressNetworkConnectors: egress } : {})));
}

test('RunMicrovm answers the RUNNING microVM with its endpoint, and passes every member to the core', async (t) => {
  // An operator who allows these private and documentation ranges (refused by default).
  const h = await startHarness({ addresses: addressPolicy(['10.20.0.0/16', '198.51.100.0/24']) });
  t.after(() => h.close());
  await withImage(h, 'app', ['internet']);
  // executionRoleArn must name one of the tenant's roles (issue 16).
  await h.world.store.createRole({ tenantId: await h.tenantId(KEY_A), name: 'exec', secrets: [], permissions: [] });
  const c = h.client();
  const out = await c.send(
    new RunMicrovmCommand({
      imageIdentifier: imageArn(KEY_A, 'app'),
      imageVersion: '1.0',
      idlePolicy: { maxIdleDurationSeconds: 900, suspendedDurationSeconds: 1800, autoResumeEnabled: true },
      maximumDurationInSeconds: 3600,
      runHookPayload: '{"session":"s-1"}',
      executionRoleArn: 'arn:aws:iam::111111111111:role/exec',
      logging: { cloudWatch: { logGroup: 'g' } },
      ingressNetworkConnectors: ['arn:aws:lambda:local:aws:network-connector:aws-network-connector:ALL_INGRESS'],
      egressNetworkConnectors: ['allow:10.20.0.0/16', 'allow:198.51.100.7:8000-8100'],
    }),
  );
  assert.equal(out.$metadata.httpStatusCode, 200);
  assert.match(out.microvmId ?? '', /^[a-z0-9]{20}$/);
  assert.equal(out.state, 'RUNNING');
  assert.equal(out.endpoint, `http://${out.microvmId}.${DOMAIN}:${GATEWAY_PORT}`);
  assert.equal(out.imageArn, imageArn(KEY_A, 'app'));
  assert.equal(out.imageVersion, '1.0');
  assert.equal(out.maximumDurationInSeconds, 3600);
  assert.ok(out.startedAt instanceof Date);
  assert.deepEqual(out.idlePolicy, { maxIdleDurationSeconds: 900, suspendedDurationSeconds: 1800, autoResumeEnabled: true });
  assert.equal(out.executionRoleArn, 'arn:aws:iam::111111111111:role/exec');
  assert.deepEqual(out.egressNetworkConnectors, ['allow:10.20.0.0/16', 'allow:198.51.100.7:8000-8100']);
  assert.deepEqual(out.ingressNetworkConnectors, ['arn:aws:lambda:local:aws:network-connector:aws-network-connector:ALL_INGRESS']);

  const m = (await h.state()).microvms[0];
  assert.ok(m);
  assert.equal(m.runHookPayload, '{"session":"s-1"}');
  assert.deepEqual(m.egress, {
    mode: 'allowlist',
    rules: [{ cidr: '10.20.0.0/16' }, { cidr: '198.51.100.7/32', ports: [{ from: 8000, to: 8100 }] }],
  });
  assert.deepEqual(m.extra.logging, { cloudWatch: { logGroup: 'g' } });
  assert.equal(m.extra.executionRole, 'exec');
});

test('RunMicrovm without egress connectors keeps the image egress; defaults the duration', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  await withImage(h, 'net', ['internet']);
  const c = h.client();
  const out = await c.send(new RunMicrovmCommand({ imageIdentifier: 'net' }));
  assert.deepEqual((await h.state()).microvms[0]?.egress, { mode: 'internet' });
  assert.deepEqual(out.egressNetworkConnectors, ['internet']);
  assert.equal(out.maximumDurationInSeconds, 28_800);
  assert.equal(out.idlePolicy, undefined);
  const closed = await c.send(new RunMicrovmCommand({ imageIdentifier: 'net', egressNetworkConnectors: [] }));
  assert.deepEqual((await h.state()).microvms[1]?.egress, { mode: 'closed' });
  assert.deepEqual(closed.egressNetworkConnectors, []);
});

test('suspend, resume and terminate move the state; wrong-state calls are ConflictException (409)', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  await withImage(h);
  const c = h.client();
  const { microvmId } = await c.send(new RunMicrovmCommand({ imageIdentifier: 'app' }));
  assert.ok(microvmId);

  const resumeRunning = await c.send(new ResumeMicrovmCommand({ microvmIdentifier: microvmId })).catch((e: unknown) => e);
  assert.ok(resumeRunning instanceof ConflictException, String(resumeRunning));
  assert.equal(resumeRunning.$metadata.httpStatusCode, 409);

  const s = await c.send(new SuspendMicrovmCommand({ microvmIdentifier: microvmId }));
  assert.equal(s.$metadata.httpStatusCode, 200);
  assert.equal((await c.send(new GetMicrovmCommand({ microvmIdentifier: microvmId }))).state, 'SUSPENDED');
  await assert.rejects(c.send(new SuspendMicrovmCommand({ microvmIdentifier: microvmId })), ConflictException);

  await c.send(new ResumeMicrovmCommand({ microvmIdentifier: `arn:aws:lambda:local:${KEY_A.tenant.accountId}:microvm:${microvmId}` }));
  assert.equal((await c.send(new GetMicrovmCommand({ microvmIdentifier: microvmId }))).state, 'RUNNING');

  await c.send(new TerminateMicrovmCommand({ microvmIdentifier: microvmId }));
  const gone = await c.send(new GetMicrovmCommand({ microvmIdentifier: microvmId }));
  assert.equal(gone.state, 'TERMINATED');
  assert.ok(gone.terminatedAt instanceof Date);
  assert.equal(gone.stateReason, 'terminated by request');
  await assert.rejects(c.send(new ResumeMicrovmCommand({ microvmIdentifier: microvmId })), ConflictException);
});

test('unknown microVMs and images are ResourceNotFoundException (404)', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const c = h.client();
  const id = 'abcdefghij0123456789';
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['GetMicrovm', () => c.send(new GetMicrovmCommand({ microvmIdentifier: id }))],
    ['SuspendMicrovm', () => c.send(new SuspendMicrovmCommand({ microvmIdentifier: id }))],
    ['ResumeMicrovm', () => c.send(new ResumeMicrovmCommand({ microvmIdentifier: id }))],
    ['TerminateMicrovm', () => c.send(new TerminateMicrovmCommand({ microvmIdentifier: id }))],
    ['RunMicrovm', () => c.send(new RunMicrovmCommand({ imageIdentifier: 'no-such-image' }))],
  ];
  for (const [name, call] of calls) {
    const err = await call().catch((e: unknown) => e);
    assert.ok(err instanceof ResourceNotFoundException, `${name}: ${String(err)}`);
    assert.equal(err.$metadata.httpStatusCode, 404);
  }
});

test('RunMicrovm of an INACTIVE version is a conflict; naming a version picks it', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  await withImage(h);
  const c = h.client();
  await c.send(
    new UpdateMicrovmImageCommand({
      imageIdentifier: 'app',
      baseImageArn: 'debian-12-python',
      buildRoleArn: undefined,
      codeArtifact: { uri: 'file:///a.zip' },
    }),
  );
  await c.send(new UpdateMicrovmImageVersionCommand({ imageIdentifier: 'app', imageVersion: '1.0', status: 'INACTIVE' }));
  await assert.rejects(c.send(new RunMicrovmCommand({ imageIdentifier: 'app', imageVersion: '1.0' })), ConflictException);
  const latest = await c.send(new RunMicrovmCommand({ imageIdentifier: 'app' }));
  assert.equal(latest.imageVersion, '1.1');
});

test('ListMicrovms pages and filters by image and version', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  await withImage(h, 'one');
  await withImage(h, 'two');
  const c = h.client();
  for (let i = 0; i < 5; i++) await c.send(new RunMicrovmCommand({ imageIdentifier: i < 3 ? 'one' : 'two' }));
  const p1 = await c.send(new ListMicrovmsCommand({ maxResults: 2 }));
  assert.equal(p1.items?.length, 2);
  assert.ok(p1.nextToken);
  const p2 = await c.send(new ListMicrovmsCommand({ maxResults: 2, nextToken: p1.nextToken }));
  const p3 = await c.send(new ListMicrovmsCommand({ maxResults: 2, nextToken: p2.nextToken }));
  assert.equal(p3.items?.length, 1);
  assert.equal(p3.nextToken, undefined);
  const item = p1.items?.[0];
  assert.equal(item?.imageArn, imageArn(KEY_A, 'one'));
  assert.equal(item?.state, 'RUNNING');
  assert.equal(item?.imageVersion, '1.0');
  assert.ok(item?.startedAt instanceof Date);

  const ids: string[] = [];
  for await (const page of paginateListMicrovms({ client: c, pageSize: 2 }, { imageIdentifier: imageArn(KEY_A, 'two') })) {
    ids.push(...(page.items ?? []).map((m) => m.microvmId ?? ''));
  }
  assert.equal(ids.length, 2);
  assert.equal((await c.send(new ListMicrovmsCommand({ imageIdentifier: 'one', imageVersion: '9.9' }))).items?.length, 0);
  // The real core answers an unknown image filter with an empty list (no resource is revealed either way).
  assert.deepEqual((await c.send(new ListMicrovmsCommand({ imageIdentifier: 'nope' }))).items, []);
});

test('a microVM launched without this API (no extra.imageName) still shows its image ARN', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  await withImage(h, 'elsewhere');
  const c = h.client();
  const { microvmId } = await c.send(new RunMicrovmCommand({ imageIdentifier: 'elsewhere' }));
  await h.world.store.updateMicrovm(microvmId ?? '', { extra: {} });
  assert.equal((await c.send(new GetMicrovmCommand({ microvmIdentifier: microvmId }))).imageArn, imageArn(KEY_A, 'elsewhere'));
  assert.equal((await c.send(new ListMicrovmsCommand({}))).items?.[0]?.imageArn, imageArn(KEY_A, 'elsewhere'));
});
