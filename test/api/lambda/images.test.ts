/**
 * The image operations through the official client over a real socket: create, update, get,
 * list (with pagination), versions, builds, delete, and the managed base images.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConflictException,
  CreateMicrovmImageCommand,
  DeleteMicrovmImageCommand,
  DeleteMicrovmImageVersionCommand,
  GetMicrovmImageBuildCommand,
  GetMicrovmImageCommand,
  GetMicrovmImageVersionCommand,
  ListManagedMicrovmImagesCommand,
  ListManagedMicrovmImageVersionsCommand,
  ListMicrovmImageBuildsCommand,
  ListMicrovmImageVersionsCommand,
  ListMicrovmImagesCommand,
  ResourceNotFoundException,
  RunMicrovmCommand,
  TerminateMicrovmCommand,
  UpdateMicrovmImageCommand,
  UpdateMicrovmImageVersionCommand,
  paginateListMicrovmImages,
} from '@aws-sdk/client-lambda-microvms';
import { FAILING_ARTIFACT_MARK, KEY_A, MANAGED_PYTHON_ARN, imageArn, startHarness } from './support/harness.js';
import { imageInput } from './support/fixtures.js';

test('CreateMicrovmImage returns 201 with the image, its first version and every setting sent', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const c = h.client();
  const before = Date.now() / 1000;
  const out = await c.send(
    new CreateMicrovmImageCommand(
      imageInput('web-app', {
        description: 'the web app',
        baseImageVersion: '1.1',
        environmentVariables: { MODE: 'prod' },
        resources: [{ minimumMemoryInMiB: 4096 }],
        hooks: {
          port: 9001,
          microvmHooks: { run: 'ENABLED', runTimeoutInSeconds: 5 },
          microvmImageHooks: { ready: 'ENABLED', readyTimeoutInSeconds: 120 },
        },
        egressNetworkConnectors: ['allow:93.184.216.0/24:443'],
        logging: { disabled: {} },
        cpuConfigurations: [{ architecture: 'ARM_64' }],
        additionalOsCapabilities: ['ALL'],
        tags: { team: 'web' },
      }),
    ),
  );
  assert.equal(out.$metadata.httpStatusCode, 201);
  assert.equal(out.imageArn, imageArn(KEY_A, 'web-app'));
  assert.equal(out.name, 'web-app');
  // The real core answers at once and builds in the background.
  assert.equal(out.state, 'CREATING');
  assert.equal(out.imageVersion, '1.0');
  assert.equal(out.latestActiveImageVersion, undefined);
  assert.equal((await c.send(new GetMicrovmImageCommand({ imageIdentifier: 'web-app' }))).latestActiveImageVersion, '1.0');
  assert.ok(out.createdAt instanceof Date);
  assert.ok(out.createdAt.getTime() / 1000 >= before - 1 && out.createdAt.getTime() / 1000 <= Date.now() / 1000 + 1);
  assert.equal(out.baseImageArn, MANAGED_PYTHON_ARN);
  assert.equal(out.baseImageVersion, '1.1');
  assert.equal(out.buildRoleArn, 'arn:aws:iam::111111111111:role/cubby-build');
  assert.deepEqual(out.codeArtifact, { uri: 'file:///srv/artifacts/app.zip' });
  assert.deepEqual(out.environmentVariables, { MODE: 'prod' });
  assert.deepEqual(out.resources, [{ minimumMemoryInMiB: 4096 }]);
  assert.deepEqual(out.hooks, {
    port: 9001,
    microvmHooks: { run: 'ENABLED', runTimeoutInSeconds: 5 },
    microvmImageHooks: { ready: 'ENABLED', readyTimeoutInSeconds: 120 },
  });
  assert.deepEqual(out.egressNetworkConnectors, ['allow:93.184.216.0/24:443']);
  assert.deepEqual(out.logging, { disabled: {} });
  assert.deepEqual(out.cpuConfigurations, [{ architecture: 'ARM_64' }]);
  assert.deepEqual(out.additionalOsCapabilities, ['ALL']);
  assert.deepEqual(out.tags, { team: 'web' });

  // What the core received: the wire mapped onto ImageSettings.
  const settings = (await h.state()).versions[0]?.settings;
  assert.ok(settings);
  assert.equal(settings.baseImage, 'debian-12-python');
  assert.equal(settings.memoryMiB, 4096);
  assert.equal(settings.vcpus, 2);
  assert.deepEqual(settings.hooks, { port: 9001, enabled: { run: true, ready: true }, timeouts: { run: 5, ready: 120 } });
  assert.deepEqual(settings.egress, { mode: 'allowlist', rules: [{ cidr: '93.184.216.0/24', ports: [{ from: 443, to: 443 }] }] });
  assert.equal(settings.extra.buildRoleArn, 'arn:aws:iam::111111111111:role/cubby-build');
});

test('CreateMicrovmImage defaults: closed egress, 2 GiB / 1 vCPU, hook port 9000, idempotent clientToken', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const c = h.client();
  const first = await c.send(new CreateMicrovmImageCommand(imageInput('plain', { clientToken: 'tok-1' })));
  const again = await c.send(new CreateMicrovmImageCommand(imageInput('plain', { clientToken: 'tok-1' })));
  assert.equal(again.imageArn, first.imageArn);
  assert.equal((await h.state()).images.length, 1);
  const settings = (await h.state()).versions[0]?.settings;
  assert.deepEqual(settings?.egress, { mode: 'closed' });
  assert.equal(settings?.memoryMiB, 2048);
  assert.equal(settings?.vcpus, 1);
  assert.deepEqual(settings?.hooks, { port: 9000, enabled: {}, timeouts: {} });
  assert.equal(first.hooks, undefined);
  assert.deepEqual(first.egressNetworkConnectors, []);
  assert.deepEqual(first.resources, [{ minimumMemoryInMiB: 2048 }]);
  // The same name again (no token) is a conflict.
  await assert.rejects(c.send(new CreateMicrovmImageCommand(imageInput('plain'))), ConflictException);
});

test('GetMicrovmImage by name and by ARN; ListMicrovmImages pages with maxResults/nextToken and filters by name', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const c = h.client();
  for (let i = 0; i < 7; i++) await c.send(new CreateMicrovmImageCommand(imageInput(`img-${i}`, i === 0 ? { tags: { a: 'b' } } : {})));
  const byName = await c.send(new GetMicrovmImageCommand({ imageIdentifier: 'img-0' }));
  const byArn = await c.send(new GetMicrovmImageCommand({ imageIdentifier: imageArn(KEY_A, 'img-0') }));
  assert.equal(byName.imageArn, imageArn(KEY_A, 'img-0'));
  assert.deepEqual(byArn.tags, { a: 'b' });
  assert.equal(byArn.state, 'CREATED');
  assert.ok(byArn.updatedAt instanceof Date);

  const page1 = await c.send(new ListMicrovmImagesCommand({ maxResults: 3 }));
  assert.equal(page1.items?.length, 3);
  assert.ok(page1.nextToken);
  const page2 = await c.send(new ListMicrovmImagesCommand({ maxResults: 3, nextToken: page1.nextToken }));
  const page3 = await c.send(new ListMicrovmImagesCommand({ maxResults: 3, nextToken: page2.nextToken }));
  assert.equal(page3.items?.length, 1);
  assert.equal(page3.nextToken, undefined);
  const names = [...(page1.items ?? []), ...(page2.items ?? []), ...(page3.items ?? [])].map((i) => i.name);
  assert.deepEqual(names, ['img-0', 'img-1', 'img-2', 'img-3', 'img-4', 'img-5', 'img-6']);

  // The client's own paginator follows nextToken to the end.
  const all: string[] = [];
  for await (const page of paginateListMicrovmImages({ client: c, pageSize: 2 }, {}))
    all.push(...(page.items ?? []).map((i) => i.name ?? ''));
  assert.equal(all.length, 7);

  const filtered = await c.send(new ListMicrovmImagesCommand({ nameFilter: 'img-3' }));
  assert.deepEqual(
    filtered.items?.map((i) => i.name),
    ['img-3'],
  );
  assert.ok(filtered.items?.[0]?.createdAt instanceof Date);
});

test('UpdateMicrovmImage adds version 1.1; versions can be read, listed, deactivated and deleted', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const c = h.client();
  await c.send(new CreateMicrovmImageCommand(imageInput('svc')));
  const up = await c.send(
    new UpdateMicrovmImageCommand({
      imageIdentifier: imageArn(KEY_A, 'svc'),
      baseImageArn: 'debian-12-node',
      buildRoleArn: 'arn:aws:iam::111111111111:role/cubby-build',
      codeArtifact: { uri: 'https://artifacts.example/app-v2.zip' },
      description: 'v2',
    }),
  );
  assert.equal(up.imageVersion, '1.1');
  assert.equal(up.state, 'UPDATING', 'the update answers before its build');
  assert.equal((await c.send(new GetMicrovmImageCommand({ imageIdentifier: 'svc' }))).state, 'UPDATED');
  assert.equal(up.baseImageArn, 'arn:aws:lambda:local:aws:microvm-image:debian-12-node');
  assert.ok(up.updatedAt instanceof Date);

  const v = await c.send(new GetMicrovmImageVersionCommand({ imageIdentifier: 'svc', imageVersion: '1.1' }));
  assert.equal(v.imageArn, imageArn(KEY_A, 'svc'));
  assert.equal(v.state, 'SUCCESSFUL');
  assert.equal(v.status, 'ACTIVE');
  assert.equal(v.description, 'v2');
  assert.deepEqual(v.codeArtifact, { uri: 'https://artifacts.example/app-v2.zip' });

  const list = await c.send(new ListMicrovmImageVersionsCommand({ imageIdentifier: 'svc', maxResults: 1 }));
  assert.equal(list.items?.length, 1);
  assert.equal(list.items?.[0]?.imageVersion, '1.0');
  const rest = await c.send(new ListMicrovmImageVersionsCommand({ imageIdentifier: 'svc', nextToken: list.nextToken }));
  assert.deepEqual(
    rest.items?.map((i) => i.imageVersion),
    ['1.1'],
  );

  const off = await c.send(new UpdateMicrovmImageVersionCommand({ imageIdentifier: 'svc', imageVersion: '1.0', status: 'INACTIVE' }));
  assert.equal(off.status, 'INACTIVE');
  assert.equal((await h.state()).versions.find((x) => x.version === '1.0')?.status, 'INACTIVE');

  const del = await c.send(new DeleteMicrovmImageVersionCommand({ imageIdentifier: 'svc', imageVersion: '1.0' }));
  assert.deepEqual([del.imageIdentifier, del.imageVersion, del.state], [imageArn(KEY_A, 'svc'), '1.0', 'DELETED']);
  await assert.rejects(
    c.send(new GetMicrovmImageVersionCommand({ imageIdentifier: 'svc', imageVersion: '1.0' })),
    ResourceNotFoundException,
  );
});

test('builds: get and list, with the host architecture; a filter for another architecture matches none', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const c = h.client();
  await c.send(new CreateMicrovmImageCommand(imageInput('b')));
  await c.send(new CreateMicrovmImageCommand(imageInput('broken', { codeArtifact: { uri: `file:///srv/${FAILING_ARTIFACT_MARK}.zip` } })));
  const list = await c.send(new ListMicrovmImageBuildsCommand({ imageIdentifier: 'b', imageVersion: '1.0' }));
  assert.equal(list.items?.length, 1);
  const item = list.items?.[0];
  assert.ok(item?.buildId);
  assert.equal(item.buildState, 'SUCCESSFUL');
  assert.equal(item.architecture, process.arch === 'arm64' ? 'ARM_64' : 'X86_64');
  const build = await c.send(new GetMicrovmImageBuildCommand({ imageIdentifier: 'b', imageVersion: '1.0', buildId: item.buildId }));
  assert.equal(build.imageArn, imageArn(KEY_A, 'b'));
  const sizes = build.snapshotBuild;
  for (const n of [sizes?.memorySnapshotSizeInBytes, sizes?.codeInstallSizeInBytes, sizes?.diskSnapshotSizeInBytes])
    assert.ok(typeof n === 'number' && n > 0, JSON.stringify(sizes));
  assert.ok(build.createdAt instanceof Date);
  const other = process.arch === 'arm64' ? 'X86_64' : 'ARM_64';
  const none = await c.send(
    new ListMicrovmImageBuildsCommand({ imageIdentifier: 'b', imageVersion: '1.0', architecture: other as 'ARM_64' }),
  );
  assert.deepEqual(none.items, []);
  await assert.rejects(
    c.send(new GetMicrovmImageBuildCommand({ imageIdentifier: 'b', imageVersion: '1.0', buildId: 'b-nope' })),
    ResourceNotFoundException,
  );

  const failed = await c.send(new GetMicrovmImageCommand({ imageIdentifier: 'broken' }));
  assert.equal(failed.state, 'CREATE_FAILED');
  assert.equal(failed.latestFailedImageVersion, '1.0');
  const fv = await c.send(new GetMicrovmImageVersionCommand({ imageIdentifier: 'broken', imageVersion: '1.0' }));
  assert.equal(fv.state, 'FAILED');
  assert.equal(fv.stateReason, 'Dockerfile build failed');
});

test('DeleteMicrovmImage: refused while a microVM uses it (409), then DELETED, then not found', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const c = h.client();
  await c.send(new CreateMicrovmImageCommand(imageInput('gone')));
  await c.send(new RunMicrovmCommand({ imageIdentifier: 'gone' }));
  const err = await c.send(new DeleteMicrovmImageCommand({ imageIdentifier: 'gone' })).catch((e: unknown) => e);
  assert.ok(err instanceof ConflictException);
  assert.equal(err.$metadata.httpStatusCode, 409);
  for (const m of (await h.state()).microvms) await c.send(new TerminateMicrovmCommand({ microvmIdentifier: m.id }));
  const del = await c.send(new DeleteMicrovmImageCommand({ imageIdentifier: imageArn(KEY_A, 'gone') }));
  assert.deepEqual([del.imageIdentifier, del.state], [imageArn(KEY_A, 'gone'), 'DELETED']);
  const nf = await c.send(new GetMicrovmImageCommand({ imageIdentifier: 'gone' })).catch((e: unknown) => e);
  assert.ok(nf instanceof ResourceNotFoundException);
  assert.equal(nf.$metadata.httpStatusCode, 404);
});

test('managed images: listed with account aws for every tenant, versions paged', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const c = h.client();
  const list = await c.send(new ListManagedMicrovmImagesCommand({ maxResults: 2 }));
  assert.deepEqual(
    list.items?.map((i) => i.imageArn),
    [MANAGED_PYTHON_ARN, 'arn:aws:lambda:local:aws:microvm-image:debian-12-node'],
  );
  assert.ok(list.items?.[0]?.createdAt instanceof Date);
  const rest = await c.send(new ListManagedMicrovmImagesCommand({ nextToken: list.nextToken }));
  assert.equal(rest.items?.length, 1);
  assert.equal(rest.nextToken, undefined);

  const v1 = await c.send(new ListManagedMicrovmImageVersionsCommand({ imageIdentifier: MANAGED_PYTHON_ARN, maxResults: 2 }));
  assert.deepEqual(
    v1.items?.map((v) => [v.imageVersion, v.status]),
    [
      ['1.0', 'DEPRECATED'],
      ['1.1', 'AVAILABLE'],
    ],
  );
  const v2 = await c.send(new ListManagedMicrovmImageVersionsCommand({ imageIdentifier: 'debian-12-python', nextToken: v1.nextToken }));
  assert.deepEqual(
    v2.items?.map((v) => v.imageVersion),
    ['1.2'],
  );
  assert.equal(v2.nextToken, undefined);
  // A tenant's own account in a managed-image ARN names no managed image.
  await assert.rejects(
    c.send(new ListManagedMicrovmImageVersionsCommand({ imageIdentifier: imageArn(KEY_A, 'debian-12-python') })),
    ResourceNotFoundException,
  );
  await assert.rejects(c.send(new ListManagedMicrovmImageVersionsCommand({ imageIdentifier: 'no-such-base' })), ResourceNotFoundException);
});
