/**
 * Input validation: unknown members, missing members, wrong types, out-of-range numbers, bad
 * ARNs and connectors, bad JSON, oversized bodies. Each is a 400 ValidationException with a
 * message naming the problem, never a 500, and none reaches a core service that changes state.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CreateMicrovmImageCommand,
  ListMicrovmImagesCommand,
  ListMicrovmsCommand,
  RunMicrovmCommand,
  ValidationException,
} from '@aws-sdk/client-lambda-microvms';
import { KEY_A, MANAGED_PYTHON_ARN, startHarness, type Harness } from './support/harness.js';
import { imageInput } from './support/fixtures.js';
import { send, signed, type RawResponse } from './support/raw-request.js';

const IMAGES = '/2025-09-09/microvm-images';
const MICROVMS = '/2025-09-09/microvms';
const goodImage = { name: 'app', baseImageArn: MANAGED_PYTHON_ARN, codeArtifact: { uri: 'file:///a.zip' } };

async function post(h: Harness, path: string, body: unknown): Promise<RawResponse> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return send(h.port, await signed(h.port, KEY_A, { method: 'POST', path, body: text }));
}

function assertValidation(r: RawResponse, message: RegExp): void {
  assert.equal(r.status, 400, r.text);
  assert.equal(r.headers['x-amzn-errortype'], 'ValidationException');
  assert.match(String(r.json?.message), message);
}

async function withRunningImage(h: Harness): Promise<void> {
  await h.client().send(new CreateMicrovmImageCommand(imageInput('app')));
}

test('CreateMicrovmImage: unknown, missing and mistyped members are named in the message; nothing is stored', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const cases: Array<[unknown, RegExp]> = [
    [{ ...goodImage, colour: 'blue' }, /unknown member\(s\) 'colour'/],
    [{ ...goodImage, hooks: { port: 9000, extra: 1 } }, /body member 'hooks': unknown member\(s\) 'extra'/],
    [{ ...goodImage, codeArtifact: { uri: 'file:///a.zip', s3: 'x' } }, /codeArtifact/],
    [{ baseImageArn: MANAGED_PYTHON_ARN, codeArtifact: { uri: 'file:///a.zip' } }, /body member 'name'/],
    [{ name: 'app', codeArtifact: { uri: 'file:///a.zip' } }, /body member 'baseImageArn'/],
    [{ name: 'app', baseImageArn: MANAGED_PYTHON_ARN }, /body member 'codeArtifact'/],
    [{ ...goodImage, name: 5 }, /body member 'name'/],
    [{ ...goodImage, name: 'bad name!' }, /name/],
    [{ ...goodImage, name: 'x'.repeat(65) }, /name/],
    [{ ...goodImage, resources: [{ minimumMemoryInMiB: 256 }] }, /resources\[0\]\.minimumMemoryInMiB/],
    [{ ...goodImage, resources: [{ minimumMemoryInMiB: 1024.5 }] }, /minimumMemoryInMiB/],
    [{ ...goodImage, hooks: { port: 0 } }, /hooks\.port/],
    [{ ...goodImage, hooks: { port: 65536 } }, /hooks\.port/],
    [{ ...goodImage, hooks: { microvmHooks: { runTimeoutInSeconds: 61 } } }, /runTimeoutInSeconds/],
    [{ ...goodImage, hooks: { microvmImageHooks: { readyTimeoutInSeconds: 3601 } } }, /readyTimeoutInSeconds/],
    [{ ...goodImage, hooks: { microvmHooks: { run: 'ON' } } }, /microvmHooks\.run/],
    [{ ...goodImage, logging: { disabled: {}, cloudWatch: { logGroup: 'g' } } }, /exactly one of disabled, cloudWatch/],
    [{ ...goodImage, buildRoleArn: 'role/x' }, /buildRoleArn/],
    [{ ...goodImage, codeArtifact: { uri: 'ftp://x/a.zip' } }, /codeArtifact\.uri/],
    [{ ...goodImage, environmentVariables: { '1BAD': 'x' } }, /environmentVariables/],
    // A raw "__proto__" key (an object literal would set the prototype instead).
    [JSON.stringify({ ...goodImage, tags: { k: 'v' } }).replace('"k"', '"__proto__"'), /member named '__proto__'/],
    [JSON.stringify({ ...goodImage, environmentVariables: { k: 'v' } }).replace('"k"', '"__proto__"'), /member named '__proto__'/],
    [{ ...goodImage, cpuConfigurations: [{ architecture: 'SPARC' }] }, /architecture/],
    [{ ...goodImage, egressNetworkConnectors: ['bogus'] }, /'bogus' is not a Cubby egress connector/],
    [{ ...goodImage, egressNetworkConnectors: ['allow:300.1.1.1'] }, /bad IPv4 CIDR/],
    [{ ...goodImage, egressNetworkConnectors: ['allow:10.0.0.0/33'] }, /bad IPv4 CIDR/],
    [{ ...goodImage, egressNetworkConnectors: ['allow:10.0.0.0/8:0'] }, /bad port/],
    [{ ...goodImage, egressNetworkConnectors: ['allow:10.0.0.0/8:90-80'] }, /bad port/],
    [{ ...goodImage, egressNetworkConnectors: ['internet', 'allow:93.184.216.0/24'] }, /cannot be combined/],
    [
      { ...goodImage, egressNetworkConnectors: ['allow:169.254.169.254'] },
      /'allow:169\.254\.169\.254' reaches private or reserved addresses \(169\.254\.0\.0\/16\)/,
    ],
    [{ ...goodImage, egressNetworkConnectors: Array.from({ length: 11 }, () => 'internet') }, /egressNetworkConnectors/],
    [{ ...goodImage, baseImageArn: 'arn:aws:lambda:local:aws:function:f' }, /not a Lambda MicroVMs ARN/],
  ];
  for (const [body, message] of cases) assertValidation(await post(h, IMAGES, body), message);
  assert.deepEqual(h.core.calls, []);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('RunMicrovm: idle policy, duration, payload size and image identifiers are checked', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  await withRunningImage(h);
  const before = h.core.calls.length;
  const idle = { maxIdleDurationSeconds: 60, suspendedDurationSeconds: 0, autoResumeEnabled: true };
  const cases: Array<[unknown, RegExp]> = [
    [{ imageIdentifier: 'app', idlePolicy: { ...idle, maxIdleDurationSeconds: 0 } }, /idlePolicy\.maxIdleDurationSeconds/],
    [{ imageIdentifier: 'app', idlePolicy: { ...idle, suspendedDurationSeconds: -1 } }, /suspendedDurationSeconds/],
    [{ imageIdentifier: 'app', idlePolicy: { maxIdleDurationSeconds: 60 } }, /autoResumeEnabled/],
    [{ imageIdentifier: 'app', idlePolicy: { ...idle, autoResumeEnabled: 'yes' } }, /autoResumeEnabled/],
    [{ imageIdentifier: 'app', maximumDurationInSeconds: 0 }, /maximumDurationInSeconds/],
    [{ imageIdentifier: 'app', maximumDurationInSeconds: 28_801 }, /maximumDurationInSeconds/],
    [{ imageIdentifier: 'app', maximumDurationInSeconds: '60' }, /maximumDurationInSeconds/],
    [{ imageIdentifier: 'app', runHookPayload: 'é'.repeat(8193) }, /'runHookPayload': must be at most 16384 bytes/],
    [{ imageIdentifier: 'app', executionRoleArn: 'arn:aws:iam::1:role/x' }, /executionRoleArn/],
    [{ imageIdentifier: 'arn:aws:lambda:local:123:microvm-image:app' }, /not a Lambda MicroVMs ARN/],
    [{ imageIdentifier: 'arn:nope' }, /not a Lambda MicroVMs ARN/],
    [{ imageIdentifier: 'app/../x' }, /Image name/],
    [{ imageIdentifier: '' }, /imageIdentifier/],
    [{}, /imageIdentifier/],
    [{ imageIdentifier: 'app', clientToken: 'has space' }, /clientToken/],
    [{ imageIdentifier: 'app', microvmId: 'x' }, /unknown member\(s\) 'microvmId'/],
  ];
  for (const [body, message] of cases) assertValidation(await post(h, MICROVMS, body), message);
  assert.deepEqual(h.core.calls.slice(before), []);
});

test('through the official client: out-of-range list sizes and bad identifiers are ValidationException', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const c = h.client();
  for (const [what, call] of [
    ['maxResults 0', () => c.send(new ListMicrovmImagesCommand({ maxResults: 0 }))],
    ['maxResults 51', () => c.send(new ListMicrovmsCommand({ maxResults: 51 }))],
    ['a nextToken we did not issue', () => c.send(new ListMicrovmImagesCommand({ nextToken: 'forged' }))],
    ['maximumDurationInSeconds 28801', () => c.send(new RunMicrovmCommand({ imageIdentifier: 'app', maximumDurationInSeconds: 28_801 }))],
    ['an image name with spaces', () => c.send(new RunMicrovmCommand({ imageIdentifier: 'my app' }))],
  ] as Array<[string, () => Promise<unknown>]>) {
    const err = await call().catch((e: unknown) => e);
    assert.ok(err instanceof ValidationException, `${what}: ${String(err)}`);
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.equal((err as unknown as { cubbyCode?: string }).cubbyCode, 'CUBBY_VALIDATION');
  }
});

test('bodies: bad JSON, non-objects, other media types, oversized bodies, bodies on bodiless POSTs', async (t) => {
  const h = await startHarness({ bodyLimit: 4096 });
  t.after(() => h.close());
  assertValidation(await post(h, IMAGES, '{"name":'), /not valid JSON/);
  assertValidation(await post(h, IMAGES, '[1,2]'), /must be a JSON object/);
  assertValidation(await post(h, IMAGES, 'null'), /must be a JSON object/);
  const xml = await send(
    h.port,
    await signed(h.port, KEY_A, { method: 'POST', path: IMAGES, body: '<a/>', contentType: 'application/xml' }),
  );
  assertValidation(xml, /Unsupported content type/);
  const big = await post(h, IMAGES, { ...goodImage, description: 'x'.repeat(5000) });
  assertValidation(big, /larger than this server accepts/);
  const suspend = `${MICROVMS}/abcdefghij0123456789/suspend`;
  assertValidation(await post(h, suspend, { force: true }), /unknown member\(s\) 'force'/);
  // An empty JSON object on a bodiless POST is fine (and then the microVM is simply not found).
  const empty = await post(h, suspend, {});
  assert.equal(empty.status, 404);
  assert.equal(empty.headers['x-amzn-errortype'], 'ResourceNotFoundException');
  assert.deepEqual(h.core.calls, ['microvms.suspend']);
});

test('queries and paths: unknown query members, bad numbers, unknown operations', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const get = async (path: string) => send(h.port, await signed(h.port, KEY_A, { method: 'GET', path }));
  assertValidation(await get(`${IMAGES}?maxResults=abc`), /query member 'maxResults': must be an integer/);
  assertValidation(await get(`${IMAGES}?maxResults=1e1`), /maxResults/);
  assertValidation(await get(`${IMAGES}?limit=5`), /unknown member\(s\) 'limit'/);
  assertValidation(await get(`${IMAGES}?maxResults=1&maxResults=2`), /maxResults/);
  assertValidation(await get(`${IMAGES}/${encodeURIComponent('arn:aws:lambda:local:111111111111:microvm-image:a/b')}`), /Image name/);
  const unknown = await get('/2025-09-09/widgets');
  assert.deepEqual([unknown.status, unknown.headers['x-amzn-errortype']], [404, 'UnknownOperationException']);
  const wrongMethod = await send(h.port, await signed(h.port, KEY_A, { method: 'PATCH', path: IMAGES, body: '{}' }));
  assert.equal(wrongMethod.status, 404);
  // Every answer carries a request id, which the client reports as $metadata.requestId.
  assert.match(String(unknown.headers['x-amzn-requestid']), /^[0-9a-f-]{36}$/);
});
