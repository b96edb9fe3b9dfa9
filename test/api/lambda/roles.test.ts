/**
 * Execution roles over the wire, on the real core with the fakes (the real-sandbox side is
 * test/e2e/execution-roles.test.ts): the secrets and roles routes, the `launch` permission
 * (named images, a count, no role for children), and session credentials past their expiry or
 * presented with another key.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CreateMicrovmImageCommand,
  LambdaMicrovmsClient,
  RunMicrovmCommand,
  TerminateMicrovmCommand,
} from '@aws-sdk/client-lambda-microvms';
import { createRole, deleteRole, getRole, listRoles, listSecrets, putSecret } from '../../../src/client/roles.js';
import { SessionIssuer } from '../../../src/core/roles/sessions.js';
import { isCubbyError } from '../../../src/errors/index.js';
import { KEY_A, KEY_B, REGION, startHarness } from './support/harness.js';
import { imageInput } from './support/fixtures.js';

test('secrets and roles: write-only secrets, roles with ARNs in the tenant account, scoped per tenant', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const c = h.client();
  assert.equal((await putSecret('tok', 's3cr3t-value', c)).version, 1);
  assert.equal((await putSecret('tok', 'rotated-value', c)).version, 2);
  const listed = await listSecrets(c);
  assert.deepEqual(
    listed.map((s) => [s.name, s.version]),
    [['tok', 2]],
  );
  assert.ok(!JSON.stringify(listed).includes('value'), 'values are never read back');
  const r = await createRole({ name: 'worker', secrets: ['tok'], permissions: ['self'] }, c);
  assert.equal(r.arn, `arn:aws:iam::${KEY_A.tenant.accountId}:role/worker`);
  assert.deepEqual((await getRole('worker', c)).secrets, ['tok']);
  await assert.rejects(createRole({ name: 'worker' }, c), { name: 'ConflictException' });
  await assert.rejects(createRole({ name: 'x', permissions: ['none', 'self'] }, c), { name: 'ValidationException' });
  await assert.rejects(getRole('worker', h.client(KEY_B)), { name: 'ResourceNotFoundException' });
  assert.deepEqual(await listRoles(h.client(KEY_B)), []);
  await deleteRole('worker', c);
  assert.deepEqual(await listRoles(c), []);
});

test('launch: children of the named images only, within the count, without a role of their own', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const c = h.client();
  for (const name of ['parent', 'child', 'other']) await c.send(new CreateMicrovmImageCommand(imageInput(name)));
  const role = await createRole({ name: 'spawner', permissions: ['launch'], launch: { images: ['child'], maxChildren: 1 } }, c);
  const parent = await c.send(new RunMicrovmCommand({ imageIdentifier: 'parent', executionRoleArn: role.arn }));
  const creds = await h.world.core.instanceCredentials.credentials(parent.microvmId ?? '');
  const session = new LambdaMicrovmsClient({
    endpoint: h.url,
    region: REGION,
    maxAttempts: 1,
    credentials: { accessKeyId: creds.AccessKeyId, secretAccessKey: creds.SecretAccessKey, sessionToken: creds.Token },
  });
  t.after(() => session.destroy());
  const child = await session.send(new RunMicrovmCommand({ imageIdentifier: 'child' }));
  assert.equal(child.state, 'RUNNING');
  const stored = (await h.state()).microvms.find((m) => m.id === child.microvmId);
  assert.equal(stored?.extra.parentMicrovmId, parent.microvmId);
  const denied = async (input: { imageIdentifier: string; executionRoleArn?: string }, why: RegExp) =>
    assert.rejects(session.send(new RunMicrovmCommand(input)), (e: Error) => e.name === 'AccessDeniedException' && why.test(e.message));
  await denied({ imageIdentifier: 'child' }, /at most 1 child/);
  await denied({ imageIdentifier: 'other' }, /launching image other/);
  await c.send(new TerminateMicrovmCommand({ microvmIdentifier: child.microvmId }));
  await denied({ imageIdentifier: 'child', executionRoleArn: role.arn }, /execution role/);
  assert.equal((await session.send(new RunMicrovmCommand({ imageIdentifier: 'child' }))).state, 'RUNNING', 'room again');
  await assert.rejects(session.send(new TerminateMicrovmCommand({ microvmIdentifier: parent.microvmId })), {
    name: 'AccessDeniedException',
  });
});

test('session credentials: refused past their expiry and with another access key', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const c = h.client();
  await c.send(new CreateMicrovmImageCommand(imageInput('app')));
  const role = await createRole({ name: 'r', permissions: ['self'] }, c);
  const m = await c.send(new RunMicrovmCommand({ imageIdentifier: 'app', executionRoleArn: role.arn }));
  const creds = await h.world.core.instanceCredentials.credentials(m.microvmId ?? '');
  const code = (e: unknown) => (isCubbyError(e) ? e.code : String(e));
  const issuer = (offsetMs: number) => new SessionIssuer({ store: h.world.store, now: () => Date.now() + offsetMs });
  assert.equal((await issuer(0).verify(creds.AccessKeyId, creds.Token)).session.microvmId, m.microvmId);
  await assert.rejects(issuer(16 * 60_000).verify(creds.AccessKeyId, creds.Token), (e) => code(e) === 'AUTH_SESSION_EXPIRED');
  const other = await h.world.core.instanceCredentials.credentials(m.microvmId ?? '');
  await assert.rejects(issuer(0).verify(other.AccessKeyId, creds.Token), (e) => code(e) === 'AUTH_SESSION_INVALID');
});
