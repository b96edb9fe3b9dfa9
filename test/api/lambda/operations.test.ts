/**
 * Every operation the pinned client knows has a route here: each command, sent with minimal
 * input, gets an answer from its handler (success or a modeled error), never
 * UnknownOperationException. A client upgrade that adds an operation makes this fail.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as sdk from '@aws-sdk/client-lambda-microvms';
import { LambdaMicrovmsServiceException } from '@aws-sdk/client-lambda-microvms';
import { KEY_A, MANAGED_PYTHON_ARN, imageArn, startHarness } from './support/harness.js';

const vm = 'abcdefghij0123456789';
const image = imageArn(KEY_A, 'app');
const INPUTS: Record<string, object> = {
  CreateMicrovmImageCommand: { name: 'app', baseImageArn: MANAGED_PYTHON_ARN, codeArtifact: { uri: 'file:///a.zip' } },
  UpdateMicrovmImageCommand: { imageIdentifier: 'app', baseImageArn: MANAGED_PYTHON_ARN, codeArtifact: { uri: 'file:///b.zip' } },
  GetMicrovmImageCommand: { imageIdentifier: 'app' },
  ListMicrovmImagesCommand: {},
  GetMicrovmImageVersionCommand: { imageIdentifier: 'app', imageVersion: '1.0' },
  ListMicrovmImageVersionsCommand: { imageIdentifier: 'app' },
  UpdateMicrovmImageVersionCommand: { imageIdentifier: 'app', imageVersion: '1.0', status: 'ACTIVE' },
  GetMicrovmImageBuildCommand: { imageIdentifier: 'app', imageVersion: '1.0', buildId: 'b-x' },
  ListMicrovmImageBuildsCommand: { imageIdentifier: 'app', imageVersion: '1.0' },
  ListManagedMicrovmImagesCommand: {},
  ListManagedMicrovmImageVersionsCommand: { imageIdentifier: MANAGED_PYTHON_ARN },
  RunMicrovmCommand: { imageIdentifier: 'app' },
  GetMicrovmCommand: { microvmIdentifier: vm },
  ListMicrovmsCommand: {},
  SuspendMicrovmCommand: { microvmIdentifier: vm },
  ResumeMicrovmCommand: { microvmIdentifier: vm },
  TerminateMicrovmCommand: { microvmIdentifier: vm },
  CreateMicrovmAuthTokenCommand: { microvmIdentifier: vm, expirationInMinutes: 5, allowedPorts: [{ port: 8080 }] },
  CreateMicrovmShellAuthTokenCommand: { microvmIdentifier: vm, expirationInMinutes: 5 },
  TagResourceCommand: { Resource: image, Tags: { a: 'b' } },
  ListTagsCommand: { Resource: image },
  UntagResourceCommand: { Resource: image, TagKeys: ['a'] },
  DeleteMicrovmImageVersionCommand: { imageIdentifier: 'app', imageVersion: '1.1' },
  DeleteMicrovmImageCommand: { imageIdentifier: 'app' },
};

test('all 24 operations of the pinned client are served', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const c = h.client();
  const commands = Object.keys(sdk).filter((k) => /^[A-Z]\w+Command$/.test(k));
  assert.equal(commands.length, 24, commands.join(', '));
  assert.deepEqual(
    commands.filter((k) => !(k in INPUTS)),
    [],
    'an operation without a test input',
  );
  for (const [name, input] of Object.entries(INPUTS)) {
    const Command = (sdk as unknown as Record<string, new (i: object) => Parameters<typeof c.send>[0]>)[name];
    assert.ok(Command, name);
    const outcome = await c.send(new Command(input)).then(
      (out) => `${(out as { $metadata: { httpStatusCode?: number } }).$metadata.httpStatusCode}`,
      (e: unknown) => (e instanceof LambdaMicrovmsServiceException ? `${e.$metadata.httpStatusCode} ${e.name}` : String(e)),
    );
    assert.doesNotMatch(outcome, /UnknownOperation|Error:/, `${name}: ${outcome}`);
    assert.match(outcome, /^(200|201|204|404 ResourceNotFoundException|409 ConflictException)$/, `${name}: ${outcome}`);
  }
});
