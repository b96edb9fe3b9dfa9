/**
 * Token minting and tagging through the official client over a real socket.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConflictException,
  CreateMicrovmAuthTokenCommand,
  CreateMicrovmImageCommand,
  CreateMicrovmShellAuthTokenCommand,
  ListTagsCommand,
  ResourceNotFoundException,
  RunMicrovmCommand,
  TagResourceCommand,
  TerminateMicrovmCommand,
  UntagResourceCommand,
  ValidationException,
} from '@aws-sdk/client-lambda-microvms';
import { KEY_A, MANAGED_PYTHON_ARN, imageArn, startHarness, type Harness } from './support/harness.js';
import { imageInput } from './support/fixtures.js';

async function running(h: Harness): Promise<string> {
  const c = h.client();
  await c.send(new CreateMicrovmImageCommand(imageInput('app')));
  const { microvmId } = await c.send(new RunMicrovmCommand({ imageIdentifier: 'app' }));
  assert.ok(microvmId);
  return microvmId;
}

test('CreateMicrovmAuthToken answers {"X-aws-proxy-auth": token} and hands the core the allowed ports', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const id = await running(h);
  const c = h.client();
  const calls: Array<{ minutes: number; ports: unknown }> = [];
  const original = h.core.tokens.createAuthToken.bind(h.core.tokens);
  h.core.tokens.createAuthToken = async (caller, mid, minutes, ports) => {
    calls.push({ minutes, ports });
    return original(caller, mid, minutes, ports);
  };
  const out = await c.send(
    new CreateMicrovmAuthTokenCommand({
      microvmIdentifier: id,
      expirationInMinutes: 15,
      allowedPorts: [{ port: 8080 }, { range: { startPort: 9000, endPort: 9010 } }],
    }),
  );
  assert.deepEqual(Object.keys(out.authToken ?? {}), ['X-aws-proxy-auth']);
  assert.match(out.authToken?.['X-aws-proxy-auth'] ?? '', /^cbt_[a-z0-9]{32}$/);
  await c.send(
    new CreateMicrovmAuthTokenCommand({ microvmIdentifier: id, expirationInMinutes: 60, allowedPorts: [{ port: 1 }, { allPorts: {} }] }),
  );
  assert.deepEqual(calls, [
    {
      minutes: 15,
      ports: [
        { from: 8080, to: 8080 },
        { from: 9000, to: 9010 },
      ],
    },
    { minutes: 60, ports: 'all' },
  ]);
});

test('CreateMicrovmShellAuthToken answers the same token shape; a terminated microVM is a conflict', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const id = await running(h);
  const c = h.client();
  const out = await c.send(new CreateMicrovmShellAuthTokenCommand({ microvmIdentifier: id, expirationInMinutes: 5 }));
  assert.match(out.authToken?.['X-aws-proxy-auth'] ?? '', /^cbt_/);
  await c.send(new TerminateMicrovmCommand({ microvmIdentifier: id }));
  await assert.rejects(
    c.send(new CreateMicrovmShellAuthTokenCommand({ microvmIdentifier: id, expirationInMinutes: 5 })),
    ConflictException,
  );
  await assert.rejects(
    c.send(
      new CreateMicrovmAuthTokenCommand({
        microvmIdentifier: 'zzzzzzzzzzzzzzzzzzzz',
        expirationInMinutes: 5,
        allowedPorts: [{ port: 80 }],
      }),
    ),
    ResourceNotFoundException,
  );
});

test('token requests outside 1-60 minutes or with a bad port are ValidationException and mint nothing', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const id = await running(h);
  const c = h.client();
  const before = h.core.calls.length;
  for (const input of [
    { microvmIdentifier: id, expirationInMinutes: 0, allowedPorts: [{ port: 80 }] },
    { microvmIdentifier: id, expirationInMinutes: 61, allowedPorts: [{ port: 80 }] },
    { microvmIdentifier: id, expirationInMinutes: 5, allowedPorts: [{ port: 0 }] },
    { microvmIdentifier: id, expirationInMinutes: 5, allowedPorts: [{ port: 65536 }] },
    { microvmIdentifier: id, expirationInMinutes: 5, allowedPorts: [{ range: { startPort: 90, endPort: 80 } }] },
    { microvmIdentifier: id, expirationInMinutes: 5, allowedPorts: [] },
  ]) {
    const err = await c.send(new CreateMicrovmAuthTokenCommand(input)).catch((e: unknown) => e);
    assert.ok(err instanceof ValidationException, `${JSON.stringify(input)}: ${String(err)}`);
    assert.equal(err.$metadata.httpStatusCode, 400);
  }
  await assert.rejects(
    c.send(new CreateMicrovmShellAuthTokenCommand({ microvmIdentifier: id, expirationInMinutes: 61 })),
    ValidationException,
  );
  assert.equal(h.core.calls.length, before);
});

test('TagResource, ListTags, UntagResource on an image ARN and on a microVM ARN', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const id = await running(h);
  const c = h.client();
  const image = imageArn(KEY_A, 'app');
  const microvm = `arn:aws:lambda:local:${KEY_A.tenant.accountId}:microvm:${id}`;

  const tagged = await c.send(new TagResourceCommand({ Resource: image, Tags: { team: 'web', 'cost:center': 'a b/c=d+e@f' } }));
  assert.equal(tagged.$metadata.httpStatusCode, 204);
  assert.deepEqual((await c.send(new ListTagsCommand({ Resource: image }))).Tags, { team: 'web', 'cost:center': 'a b/c=d+e@f' });
  const untagged = await c.send(new UntagResourceCommand({ Resource: image, TagKeys: ['cost:center', 'absent'] }));
  assert.equal(untagged.$metadata.httpStatusCode, 204);
  assert.deepEqual((await c.send(new ListTagsCommand({ Resource: image }))).Tags, { team: 'web' });

  await c.send(new TagResourceCommand({ Resource: microvm, Tags: { owner: 'me', stage: 'dev' } }));
  await c.send(new UntagResourceCommand({ Resource: microvm, TagKeys: ['stage'] }));
  assert.deepEqual((await c.send(new ListTagsCommand({ Resource: microvm }))).Tags, { owner: 'me' });
});

test('tagging: bad ARNs and bad tags are ValidationException; unknown or managed resources are not found', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  await running(h);
  const c = h.client();
  const image = imageArn(KEY_A, 'app');
  for (const [what, call] of [
    ['not an ARN', () => c.send(new ListTagsCommand({ Resource: 'app' }))],
    ['a function ARN', () => c.send(new ListTagsCommand({ Resource: 'arn:aws:lambda:local:111111111111:function:f' }))],
    ['reserved aws: prefix', () => c.send(new TagResourceCommand({ Resource: image, Tags: { 'aws:x': 'y' } }))],
    ['a key of 129 characters', () => c.send(new TagResourceCommand({ Resource: image, Tags: { ['k'.repeat(129)]: 'v' } }))],
    ['a value with a bad character', () => c.send(new TagResourceCommand({ Resource: image, Tags: { k: 'semi;colon' } }))],
    [
      '51 tags',
      () =>
        c.send(new TagResourceCommand({ Resource: image, Tags: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) })),
    ],
    ['no tag keys', () => c.send(new UntagResourceCommand({ Resource: image, TagKeys: [] }))],
  ] as Array<[string, () => Promise<unknown>]>) {
    const err = await call().catch((e: unknown) => e);
    assert.ok(err instanceof ValidationException, `${what}: ${String(err)}`);
  }
  for (const resource of [
    imageArn(KEY_A, 'nope'),
    MANAGED_PYTHON_ARN,
    `arn:aws:lambda:local:${KEY_A.tenant.accountId}:microvm:nope`,
    'arn:aws:lambda:us-east-1:111111111111:microvm-image:app',
  ]) {
    await assert.rejects(c.send(new ListTagsCommand({ Resource: resource })), ResourceNotFoundException, resource);
  }
});
