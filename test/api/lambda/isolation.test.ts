/**
 * Tenant isolation: tenant B cannot see or touch tenant A's images and microVMs, through any
 * operation, by name, id or ARN; it always gets ResourceNotFoundException, and A's resources
 * are unchanged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CreateMicrovmAuthTokenCommand,
  CreateMicrovmImageCommand,
  CreateMicrovmShellAuthTokenCommand,
  DeleteMicrovmImageCommand,
  DeleteMicrovmImageVersionCommand,
  GetMicrovmCommand,
  GetMicrovmImageBuildCommand,
  GetMicrovmImageCommand,
  GetMicrovmImageVersionCommand,
  ListMicrovmImageBuildsCommand,
  ListMicrovmImageVersionsCommand,
  ListMicrovmImagesCommand,
  ListMicrovmsCommand,
  ListTagsCommand,
  ResourceNotFoundException,
  ResumeMicrovmCommand,
  RunMicrovmCommand,
  SuspendMicrovmCommand,
  TagResourceCommand,
  TerminateMicrovmCommand,
  UntagResourceCommand,
  UpdateMicrovmImageCommand,
  UpdateMicrovmImageVersionCommand,
} from '@aws-sdk/client-lambda-microvms';
import { KEY_A, KEY_B, imageArn, startHarness } from './support/harness.js';
import { imageInput } from './support/fixtures.js';

test('tenant B gets not-found for every operation on tenant A resources, and A is untouched', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const a = h.client(KEY_A);
  const b = h.client(KEY_B);
  await a.send(new CreateMicrovmImageCommand(imageInput('secret-app', { tags: { owner: 'a' } })));
  const { microvmId } = await a.send(new RunMicrovmCommand({ imageIdentifier: 'secret-app' }));
  assert.ok(microvmId);
  const buildId = (await h.state()).builds[0]?.id ?? '';
  const aImage = imageArn(KEY_A, 'secret-app');
  const aMicrovm = `arn:aws:lambda:local:${KEY_A.tenant.accountId}:microvm:${microvmId}`;
  // B naming A's resources in B's own account: the names simply do not exist there.
  const bSpelling = imageArn(KEY_B, 'secret-app');

  const attempts: Array<[string, () => Promise<unknown>]> = [];
  for (const image of ['secret-app', aImage, bSpelling]) {
    attempts.push(
      [`GetMicrovmImage ${image}`, () => b.send(new GetMicrovmImageCommand({ imageIdentifier: image }))],
      [
        `UpdateMicrovmImage ${image}`,
        () => b.send(new UpdateMicrovmImageCommand({ ...imageInput('x'), name: undefined, imageIdentifier: image } as never)),
      ],
      [`DeleteMicrovmImage ${image}`, () => b.send(new DeleteMicrovmImageCommand({ imageIdentifier: image }))],
      [`GetMicrovmImageVersion ${image}`, () => b.send(new GetMicrovmImageVersionCommand({ imageIdentifier: image, imageVersion: '1.0' }))],
      [`ListMicrovmImageVersions ${image}`, () => b.send(new ListMicrovmImageVersionsCommand({ imageIdentifier: image }))],
      [
        `UpdateMicrovmImageVersion ${image}`,
        () => b.send(new UpdateMicrovmImageVersionCommand({ imageIdentifier: image, imageVersion: '1.0', status: 'INACTIVE' })),
      ],
      [
        `DeleteMicrovmImageVersion ${image}`,
        () => b.send(new DeleteMicrovmImageVersionCommand({ imageIdentifier: image, imageVersion: '1.0' })),
      ],
      [
        `GetMicrovmImageBuild ${image}`,
        () => b.send(new GetMicrovmImageBuildCommand({ imageIdentifier: image, imageVersion: '1.0', buildId })),
      ],
      [`ListMicrovmImageBuilds ${image}`, () => b.send(new ListMicrovmImageBuildsCommand({ imageIdentifier: image, imageVersion: '1.0' }))],
      [`RunMicrovm ${image}`, () => b.send(new RunMicrovmCommand({ imageIdentifier: image }))],
    );
  }
  for (const vm of [microvmId, aMicrovm]) {
    attempts.push(
      [`GetMicrovm ${vm}`, () => b.send(new GetMicrovmCommand({ microvmIdentifier: vm }))],
      [`SuspendMicrovm ${vm}`, () => b.send(new SuspendMicrovmCommand({ microvmIdentifier: vm }))],
      [`ResumeMicrovm ${vm}`, () => b.send(new ResumeMicrovmCommand({ microvmIdentifier: vm }))],
      [`TerminateMicrovm ${vm}`, () => b.send(new TerminateMicrovmCommand({ microvmIdentifier: vm }))],
      [
        `CreateMicrovmAuthToken ${vm}`,
        () =>
          b.send(new CreateMicrovmAuthTokenCommand({ microvmIdentifier: vm, expirationInMinutes: 5, allowedPorts: [{ allPorts: {} }] })),
      ],
      [
        `CreateMicrovmShellAuthToken ${vm}`,
        () => b.send(new CreateMicrovmShellAuthTokenCommand({ microvmIdentifier: vm, expirationInMinutes: 5 })),
      ],
    );
  }
  for (const resource of [aImage, aMicrovm]) {
    attempts.push(
      [`TagResource ${resource}`, () => b.send(new TagResourceCommand({ Resource: resource, Tags: { owner: 'b' } }))],
      [`UntagResource ${resource}`, () => b.send(new UntagResourceCommand({ Resource: resource, TagKeys: ['owner'] }))],
      [`ListTags ${resource}`, () => b.send(new ListTagsCommand({ Resource: resource }))],
    );
  }
  for (const [what, attempt] of attempts) {
    const err = await attempt().catch((e: unknown) => e);
    assert.ok(err instanceof ResourceNotFoundException, `${what}: expected not found, got ${String(err)}`);
    assert.equal(err.$metadata.httpStatusCode, 404, what);
  }

  // B's lists are empty; A's resources are as A left them.
  assert.deepEqual((await b.send(new ListMicrovmImagesCommand({}))).items, []);
  assert.deepEqual((await b.send(new ListMicrovmsCommand({}))).items, []);
  // Filtering by A's image shows B nothing: A's ARN is not found; a name in B's own account lists nothing.
  await assert.rejects(b.send(new ListMicrovmsCommand({ imageIdentifier: aImage })), ResourceNotFoundException);
  for (const image of ['secret-app', bSpelling]) {
    assert.deepEqual((await b.send(new ListMicrovmsCommand({ imageIdentifier: image }))).items, [], `ListMicrovms ${image}`);
  }
  const vm = await a.send(new GetMicrovmCommand({ microvmIdentifier: microvmId }));
  assert.equal(vm.state, 'RUNNING');
  const image = await a.send(new GetMicrovmImageCommand({ imageIdentifier: 'secret-app' }));
  assert.equal(image.state, 'CREATED');
  assert.deepEqual(image.tags, { owner: 'a' });
  assert.equal((await a.send(new GetMicrovmImageVersionCommand({ imageIdentifier: 'secret-app', imageVersion: '1.0' }))).status, 'ACTIVE');
  const stored = await h.state();
  assert.equal(stored.images.length, 1);
  assert.equal(stored.microvms.length, 1);
});
