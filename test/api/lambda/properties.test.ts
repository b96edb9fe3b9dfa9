/**
 * Property tests over request bodies: whatever JSON arrives (random values, or near-valid bodies
 * with random members swapped for random values), the answer is a well-formed 2xx/4xx with an
 * error type, never a 5xx; and well-formed requests always succeed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { CreateMicrovmImageCommand, RunMicrovmCommand } from '@aws-sdk/client-lambda-microvms';
import { KEY_A, MANAGED_PYTHON_ARN, startHarness, type Harness } from './support/harness.js';
import { imageInput } from './support/fixtures.js';
import { addressPolicy } from '../../../src/util/address-policy.js';
import { send, signed, type RawResponse } from './support/raw-request.js';

const RUNS = 120;

async function post(h: Harness, path: string, body: string): Promise<RawResponse> {
  // A fresh nonce header (signed) keeps two equal random bodies from looking like a replay.
  return send(h.port, await signed(h.port, KEY_A, { method: 'POST', path, body, headers: { 'x-test-nonce': randomUUID() } }));
}

function assertWellFormed(r: RawResponse, body: string): void {
  assert.ok(r.status < 500, `status ${r.status} for ${body.slice(0, 300)}: ${r.text.slice(0, 300)}`);
  if (r.status >= 400) {
    assert.ok([400, 404, 409].includes(r.status), `unexpected status ${r.status}: ${r.text}`);
    assert.equal(typeof r.headers['x-amzn-errortype'], 'string');
    assert.equal(typeof r.json?.message, 'string');
  }
}

/** A valid value or, sometimes, anything at all. */
const maybe = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 9, arbitrary: valid }, { weight: 1, arbitrary: fc.anything() });

const port = fc.integer({ min: -5, max: 70_000 });
const connector = fc.oneof(
  { weight: 1, arbitrary: fc.constant('internet') },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.ipV4(), fc.integer({ min: 0, max: 34 }), fc.option(port))
      .map(([ip, n, p]) => `allow:${ip}/${n}${p === null ? '' : `:${p}`}`),
  },
  { weight: 1, arbitrary: fc.string() },
);
const envName = fc.oneof(
  { weight: 15, arbitrary: fc.stringMatching(/^[A-Z][A-Z0-9_]{0,8}$/) },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);
const tagText = fc.oneof(
  { weight: 15, arbitrary: fc.stringMatching(/^[a-z0-9 ._:/=+@-]{1,10}$/) },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);
const hooks = fc.record(
  {
    port: maybe(port),
    microvmHooks: maybe(
      fc.record(
        { run: maybe(fc.constantFrom('ENABLED', 'DISABLED')), runTimeoutInSeconds: maybe(fc.integer({ min: -1, max: 70 })) },
        { requiredKeys: [] },
      ),
    ),
    microvmImageHooks: maybe(
      fc.record(
        { ready: maybe(fc.constantFrom('ENABLED', 'DISABLED')), readyTimeoutInSeconds: maybe(fc.integer({ min: 0, max: 4000 })) },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

const imageBody = fc.record(
  {
    name: maybe(fc.oneof({ weight: 15, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_-]{1,64}$/) }, { weight: 1, arbitrary: fc.string() })),
    baseImageArn: maybe(
      fc.constantFrom(MANAGED_PYTHON_ARN, MANAGED_PYTHON_ARN, 'debian-12-node', 'nope', 'arn:aws:lambda:local:aws:microvm-image:x'),
    ),
    codeArtifact: maybe(fc.record({ uri: maybe(fc.constantFrom('file:///a.zip', 'https://h/a.zip', 'file:///b.zip', 'ftp://x', '')) })),
    resources: maybe(
      fc.array(fc.record({ minimumMemoryInMiB: maybe(fc.integer({ min: 256, max: 9000 })) }), { minLength: 1, maxLength: 3 }),
    ),
    hooks: maybe(hooks),
    egressNetworkConnectors: maybe(fc.array(connector, { maxLength: 4 })),
    environmentVariables: maybe(fc.dictionary(envName, fc.string({ maxLength: 10 }), { maxKeys: 2 })),
    tags: maybe(fc.dictionary(tagText, tagText, { maxKeys: 2 })),
    logging: maybe(fc.constantFrom({ disabled: {} }, { cloudWatch: { logGroup: 'g' } }, { disabled: {} }, {})),
  },
  { requiredKeys: ['name', 'baseImageArn', 'codeArtifact'] },
);

const runBody = fc.record(
  {
    imageIdentifier: maybe(fc.constantFrom('app', 'app', 'nope', 'arn:aws:lambda:local:111111111111:microvm-image:app', 'arn:x', '')),
    imageVersion: maybe(fc.constantFrom('1.0', '9.9', ' ')),
    maximumDurationInSeconds: maybe(fc.integer({ min: -10, max: 30_000 })),
    idlePolicy: maybe(
      fc.record({
        maxIdleDurationSeconds: maybe(fc.integer({ min: 0, max: 100_000 })),
        suspendedDurationSeconds: maybe(fc.integer({ min: -1, max: 100_000 })),
        autoResumeEnabled: maybe(fc.boolean()),
      }),
    ),
    egressNetworkConnectors: maybe(fc.array(connector, { maxLength: 4 })),
    runHookPayload: maybe(fc.string({ maxLength: 50 })),
  },
  { requiredKeys: ['imageIdentifier'] },
);

const tokenBody = fc.record(
  {
    expirationInMinutes: maybe(fc.integer({ min: -1, max: 100 })),
    allowedPorts: maybe(
      fc.array(
        fc.oneof(
          fc.record({ port: maybe(port) }),
          fc.record({ range: maybe(fc.record({ startPort: maybe(port), endPort: maybe(port) })) }),
          fc.constant({ allPorts: {} }),
          fc.record({ port: port, allPorts: fc.constant({}) }),
        ),
        { maxLength: 3 },
      ),
    ),
  },
  { requiredKeys: [] },
);

/** Random JSON text, including non-objects and invalid fragments. */
const anyBody = fc.oneof(
  fc.json(),
  fc.string({ maxLength: 40 }),
  fc.jsonValue().map((v) => JSON.stringify({ v })),
);

async function withApp(h: Harness): Promise<string> {
  const c = h.client();
  await c.send(new CreateMicrovmImageCommand(imageInput('app')));
  const { microvmId } = await c.send(new RunMicrovmCommand({ imageIdentifier: 'app' }));
  return microvmId ?? '';
}

test('CreateMicrovmImage, RunMicrovm, CreateMicrovmAuthToken, TagResource: random bodies never get a 5xx', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const id = await withApp(h);
  const tag = fc.stringMatching(/^[a-z0-9 ._:/=+@-]{1,10}$/);
  // Per target: near-valid bodies (random members broken), and surely valid ones, so the run
  // reaches the handlers as well as the validation.
  const targets: Array<[string, string, fc.Arbitrary<unknown>, fc.Arbitrary<unknown>]> = [
    [
      'POST',
      '/2025-09-09/microvm-images',
      imageBody,
      fc.record(
        {
          name: fc.uuid().map((u) => `n-${u}`),
          baseImageArn: fc.constant(MANAGED_PYTHON_ARN),
          codeArtifact: fc.constant({ uri: 'file:///a.zip' }),
          resources: fc.array(fc.record({ minimumMemoryInMiB: fc.integer({ min: 512, max: 8192 }) }), { minLength: 1, maxLength: 2 }),
        },
        { requiredKeys: ['name', 'baseImageArn', 'codeArtifact'] },
      ),
    ],
    [
      'POST',
      '/2025-09-09/microvms',
      runBody,
      fc.record(
        { imageIdentifier: fc.constant('app'), maximumDurationInSeconds: fc.integer({ min: 1, max: 28_800 }) },
        { requiredKeys: ['imageIdentifier'] },
      ),
    ],
    [
      'POST',
      `/2025-09-09/microvms/${id}/auth-token`,
      tokenBody,
      fc.record({
        expirationInMinutes: fc.integer({ min: 1, max: 60 }),
        allowedPorts: fc.array(fc.record({ port: fc.integer({ min: 1, max: 65_535 }) }), { minLength: 1, maxLength: 3 }),
      }),
    ],
    [
      'POST',
      `/2017-03-31/tags/${encodeURIComponent('arn:aws:lambda:local:111111111111:microvm-image:app')}`,
      fc.record(
        { Tags: maybe(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 })) },
        { requiredKeys: [] },
      ),
      fc.record({
        Tags: fc.dictionary(
          tag.filter((k) => !k.startsWith('aws:')),
          tag,
          { maxKeys: 3 },
        ),
      }),
    ],
    [
      'PATCH',
      '/2025-09-09/microvm-images/app/versions/1.0',
      fc.record({ status: maybe(fc.constantFrom('ACTIVE', 'INACTIVE', 'ON')) }, { requiredKeys: [] }),
      fc.record({ status: fc.constant('ACTIVE') }),
    ],
  ];
  for (const [method, path, shaped, valid] of targets) {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 3, arbitrary: shaped.map((b) => JSON.stringify(b)) },
          { weight: 1, arbitrary: valid.map((b) => JSON.stringify(b)) },
          { weight: 1, arbitrary: anyBody },
        ),
        async (body) => {
          const req = await signed(h.port, KEY_A, { method, path, body, headers: { 'x-test-nonce': randomUUID() } });
          const r = await send(h.port, req);
          assertWellFormed(r, body);
          seen.add(Math.floor(r.status / 100));
        },
      ),
      { numRuns: RUNS },
    );
    // The generators must reach both the handlers and the validation: otherwise this proves little.
    assert.deepEqual([...seen].sort(), [2, 4], `${method} ${path} answered only ${[...seen].join(',')}xx`);
  }
});

test('well-formed RunMicrovm bodies always succeed, and what runs is what was asked', async (t) => {
  // Random allow: ranges are well-formed only for an operator who allows every range.
  const h = await startHarness({ addresses: addressPolicy(['0.0.0.0/0']) });
  t.after(() => h.close());
  await withApp(h);
  const valid = fc.record(
    {
      imageIdentifier: fc.constant('app'),
      maximumDurationInSeconds: fc.integer({ min: 1, max: 28_800 }),
      idlePolicy: fc.record({
        maxIdleDurationSeconds: fc.integer({ min: 1, max: 86_400 }),
        suspendedDurationSeconds: fc.integer({ min: 0, max: 86_400 }),
        autoResumeEnabled: fc.boolean(),
      }),
      egressNetworkConnectors: fc.array(
        fc
          .tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 1, max: 65_535 }))
          .map(([ip, n, p]) => `allow:${ip}/${n}:${p}`),
        { maxLength: 3 },
      ),
    },
    { requiredKeys: ['imageIdentifier'] },
  );
  await fc.assert(
    fc.asyncProperty(valid, async (body) => {
      const r = await post(h, '/2025-09-09/microvms', JSON.stringify(body));
      assert.equal(r.status, 200, r.text);
      const m = (await h.state()).microvms.find((x) => x.id === r.json?.microvmId);
      assert.ok(m);
      if (body.maximumDurationInSeconds !== undefined) assert.equal(m.maximumDurationSeconds, body.maximumDurationInSeconds);
      if (body.idlePolicy !== undefined) assert.deepEqual(m.idlePolicy, { ...body.idlePolicy });
      if (body.egressNetworkConnectors !== undefined) {
        assert.equal(m.egress.mode, body.egressNetworkConnectors.length === 0 ? 'closed' : 'allowlist');
        assert.deepEqual(r.json?.egressNetworkConnectors, body.egressNetworkConnectors);
      }
    }),
    { numRuns: 60 },
  );
});
