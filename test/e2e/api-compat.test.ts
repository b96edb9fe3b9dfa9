/**
 * The Lambda MicroVMs API against the real daemon (runsc sandboxes, buildah builds, SQLite, the
 * gateway), driven with the official AWS client: all 24 operations, their error classes, Cubby's
 * /cubby/v1 extensions, and tenant isolation (a second tenant can neither see nor change any of
 * the first one's resources). One image is built twice (1.0, 1.1); a few microVMs are launched
 * and all are terminated; nothing may leak.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ConflictException,
  CreateMicrovmAuthTokenCommand,
  CreateMicrovmImageCommand,
  CreateMicrovmShellAuthTokenCommand,
  DeleteMicrovmImageCommand,
  DeleteMicrovmImageVersionCommand,
  GetMicrovmCommand,
  GetMicrovmImageBuildCommand,
  GetMicrovmImageCommand,
  GetMicrovmImageVersionCommand,
  ListManagedMicrovmImageVersionsCommand,
  ListManagedMicrovmImagesCommand,
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
  ValidationException,
  type CreateMicrovmImageCommandInput,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { ExtensionError, cubbyExtension, uploadArtifact } from '../../src/client/extension.js';
import { zipDirectory } from '../../src/cli/zip-dir.js';
import { startTestDaemon, viaGateway, type TestDaemon } from '../support/daemon.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { makeZip } from '../support/zip-writer.js';
import { sample, scrapeUntil } from '../support/metrics.js';
import { openShell, wsEcho } from './support-ws.js';
import { COUNTER_HOOKS, bumpCounter, endpointToken, waitForState, waitForVersion } from './support.js';

const HOOKS = COUNTER_HOOKS;
const IMAGE = 'counter';
const OTHER = 'broken';

describe('Lambda MicroVMs API against the real daemon', { timeout: 600_000 }, () => {
  let d: TestDaemon;
  let a: LambdaMicrovmsClient;
  let b: LambdaMicrovmsClient;
  let accountA: string;
  let tmp: string;
  let baseline: Set<string>;
  let counterUri: string;
  let failingUri: string;
  let nameA: string;
  let nameB: string;
  const launched = new Set<string>();
  // Shared between the ordered tests below.
  let first = ''; // a microVM on 1.0, launched with a client token
  let second = ''; // another microVM on 1.0

  const imageArn = (name: string) => `arn:aws:lambda:local:${accountA}:microvm-image:${name}`;
  const microvmArn = (id: string) => `arn:aws:lambda:local:${accountA}:microvm:${id}`;
  const settings = (uri: string, env: Record<string, string> = {}): Omit<CreateMicrovmImageCommandInput, 'name'> => ({
    baseImageArn: 'debian-12-python',
    buildRoleArn: 'arn:aws:iam::000000000000:role/build',
    codeArtifact: { uri },
    hooks: HOOKS,
    resources: [{ minimumMemoryInMiB: 512 }],
    environmentVariables: { MODE: 'compat', ...env },
  });
  async function run(client: LambdaMicrovmsClient, extra: Record<string, unknown> = {}) {
    const m = await client.send(new RunMicrovmCommand({ imageIdentifier: IMAGE, ...extra }));
    assert.ok(m.microvmId);
    launched.add(m.microvmId);
    return m;
  }
  async function terminate(id: string): Promise<void> {
    await a.send(new TerminateMicrovmCommand({ microvmIdentifier: id }));
    await waitForState(a, id, ['TERMINATED']);
  }
  const bump = (id: string): Promise<number> => bumpCounter(d, a, id);

  before(async () => {
    baseline = await hostResources();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-e2e-compat-'));
    d = await startTestDaemon();
    const ta = await d.tenant('compat-a');
    a = ta.client;
    accountA = ta.accountId;
    nameA = ta.tenant.name;
    const tb = await d.tenant('compat-b');
    b = tb.client;
    nameB = tb.tenant.name;
    // The app goes up through Cubby's upload extension, as `cubby image create --from` does.
    const zip = path.join(tmp, 'counter.zip');
    await zipDirectory(path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../test/fixtures/apps/counter'), zip);
    counterUri = await uploadArtifact(zip, a);
    assert.match(counterUri, /^cubby-artifact:\/\/[A-Za-z0-9_-]+$/);
    const created = await a.send(new CreateMicrovmImageCommand({ name: IMAGE, ...settings(counterUri), tags: { team: 'a' } }));
    assert.equal(created.imageVersion, '1.0');
    assert.equal(created.imageArn, imageArn(IMAGE));
    assert.deepEqual(created.tags, { team: 'a' });
    // A second image, for pagination: its zip passes the request-time check (headers only) but
    // an entry holds more bytes than its header says, so the build fails as soon as it unpacks.
    failingUri = `file://${path.join(tmp, 'lying.zip')}`;
    await fs.writeFile(
      new URL(failingUri),
      makeZip([
        { name: 'Dockerfile', data: 'FROM debian-12-python\n' },
        { name: 'liar.txt', data: 'x'.repeat(4096), declaredSize: 16 },
      ]),
    );
    await a.send(new CreateMicrovmImageCommand({ name: OTHER, ...settings(failingUri) }));
    const v = await waitForVersion(a, IMAGE, '1.0');
    assert.equal(v.state, 'SUCCESSFUL', v.stateReason);
  });

  after(async () => {
    // Together: each terminate waits ~1.6 s for its sandbox to die.
    await Promise.all([...launched].map((id) => a?.send(new TerminateMicrovmCommand({ microvmIdentifier: id })).catch(() => undefined)));
    await d?.destroy();
    await fs.rm(tmp, { recursive: true, force: true });
    await assertNoLeaks(baseline, [], 10_000);
  });

  test('images: get, list with pagination, versions, builds, build log, managed images', async () => {
    const img = await a.send(new GetMicrovmImageCommand({ imageIdentifier: IMAGE }));
    assert.equal(img.name, IMAGE);
    assert.equal(img.imageArn, imageArn(IMAGE));
    assert.equal(img.latestActiveImageVersion, '1.0');
    assert.deepEqual(img.tags, { team: 'a' });
    assert.equal((await a.send(new GetMicrovmImageCommand({ imageIdentifier: imageArn(IMAGE) }))).name, IMAGE, 'an ARN names it too');

    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await a.send(new ListMicrovmImagesCommand({ maxResults: 1, nextToken }));
      assert.ok((page.items ?? []).length <= 1);
      seen.push(...(page.items ?? []).map((i) => i.name ?? ''));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken && pages < 10);
    assert.deepEqual(seen.sort(), [OTHER, IMAGE].sort(), 'two pages of one, each image once');
    assert.ok(pages >= 2);

    const broken = await waitForVersion(a, OTHER, '1.0', 60_000);
    assert.equal(broken.state, 'FAILED');
    assert.match(broken.stateReason ?? '', /missing\.zip|artifact/i);
    assert.equal((await a.send(new GetMicrovmImageCommand({ imageIdentifier: OTHER }))).latestFailedImageVersion, '1.0');

    const v = await a.send(new GetMicrovmImageVersionCommand({ imageIdentifier: IMAGE, imageVersion: '1.0' }));
    assert.equal(v.state, 'SUCCESSFUL');
    assert.equal(v.status, 'ACTIVE');
    assert.equal(v.codeArtifact?.uri, counterUri);
    const versions = await a.send(new ListMicrovmImageVersionsCommand({ imageIdentifier: IMAGE }));
    assert.deepEqual(
      (versions.items ?? []).map((x) => x.imageVersion),
      ['1.0'],
    );

    const builds = await a.send(new ListMicrovmImageBuildsCommand({ imageIdentifier: IMAGE, imageVersion: '1.0' }));
    const buildId = builds.items?.[0]?.buildId;
    assert.ok(buildId, 'the version has a build');
    const build = await a.send(new GetMicrovmImageBuildCommand({ imageIdentifier: IMAGE, imageVersion: '1.0', buildId }));
    assert.equal(build.buildId, buildId);
    assert.equal(build.imageVersion, '1.0');
    await assert.rejects(
      a.send(new GetMicrovmImageBuildCommand({ imageIdentifier: IMAGE, imageVersion: '1.0', buildId: 'no-such-build' })),
      ResourceNotFoundException,
    );

    const log = await cubbyExtension('GET', `/cubby/v1/images/${IMAGE}/versions/1.0/log`, a);
    assert.match(log, /cubby-artifact:\/\//, 'the build log tells where the code came from');
    assert.match(log, /app\.py|COPY/, 'and shows the Dockerfile build');
    assert.equal(await cubbyExtension('GET', `/cubby/v1/images/${IMAGE}/versions/1.0/log?buildId=${encodeURIComponent(buildId)}`, a), log);

    const managed = await a.send(new ListManagedMicrovmImagesCommand({}));
    const python = (managed.items ?? []).find((i) => i.imageArn === 'arn:aws:lambda:local:aws:microvm-image:debian-12-python');
    assert.ok(python, JSON.stringify(managed.items));
    const mv = await a.send(new ListManagedMicrovmImageVersionsCommand({ imageIdentifier: 'debian-12-python' }));
    assert.ok((mv.items ?? []).length >= 1, 'the base image built for these tests is listed');
    assert.deepEqual(
      (await b.send(new ListManagedMicrovmImagesCommand({}))).items?.map((i) => i.imageArn),
      managed.items?.map((i) => i.imageArn),
      'managed images are the same for every tenant',
    );
  });

  test('RunMicrovm (idempotent with clientToken), GetMicrovm, ListMicrovms with pagination, the gateway, app logs', async () => {
    const clientToken = randomUUID();
    const m = await run(a, { imageVersion: '1.0', clientToken, runHookPayload: 'p1' });
    first = m.microvmId ?? '';
    assert.equal(m.state, 'RUNNING');
    assert.equal(m.imageVersion, '1.0');
    assert.equal(m.imageArn, imageArn(IMAGE));
    assert.equal(m.endpoint, `http://${first}.${d.config.domain}:${d.gatewayPort}`);
    const again = await a.send(new RunMicrovmCommand({ imageIdentifier: IMAGE, imageVersion: '1.0', clientToken, runHookPayload: 'p1' }));
    assert.equal(again.microvmId, first, 'the same client token and body give the same microVM');
    await assert.rejects(
      a.send(new RunMicrovmCommand({ imageIdentifier: IMAGE, imageVersion: '1.0', clientToken, runHookPayload: 'p2' })),
      (e: unknown) => e instanceof ConflictException || e instanceof ValidationException,
      'the same token with another body is refused',
    );
    second = (await run(a, { imageVersion: '1.0' })).microvmId ?? '';

    const got = await a.send(new GetMicrovmCommand({ microvmIdentifier: first }));
    assert.equal(got.microvmId, first);
    assert.equal(got.state, 'RUNNING');
    assert.equal(got.imageVersion, '1.0');
    assert.equal(got.imageArn, imageArn(IMAGE));
    assert.equal((await a.send(new GetMicrovmCommand({ microvmIdentifier: microvmArn(first) }))).microvmId, first, 'an ARN names it too');

    const ids: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await a.send(new ListMicrovmsCommand({ maxResults: 1, nextToken }));
      assert.ok((page.items ?? []).length <= 1);
      ids.push(...(page.items ?? []).map((i) => i.microvmId ?? ''));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken && pages < 10);
    assert.deepEqual(ids.sort(), [first, second].sort());
    const byImage = await a.send(new ListMicrovmsCommand({ imageIdentifier: imageArn(IMAGE), imageVersion: '1.0' }));
    assert.equal(byImage.items?.length, 2);
    assert.deepEqual((await a.send(new ListMicrovmsCommand({ imageIdentifier: OTHER }))).items, []);

    // CreateMicrovmAuthToken, then the endpoint through the gateway with it (and not without it).
    const token = await endpointToken(a, first);
    assert.equal((await viaGateway(d, first, '/')).status, 401);
    const r = await viaGateway(d, first, '/', { token });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { count: 1 });
    assert.equal((await viaGateway(d, second, '/', { token })).status, 401, "a token opens only its own microVM's endpoint");
    assert.deepEqual(
      await wsEcho(d, first, token, ['one', 'x'.repeat(3000)]),
      ['one', 'x'.repeat(3000)],
      'WebSockets pass through to the app',
    );
  });

  test("the app's startup line is in the logs of a microVM restored from the snapshot", async () => {
    assert.match(await cubbyExtension('GET', `/cubby/v1/microvms/${first}/logs`, a), /counter app serving on 8080/);
  });

  test('suspend and resume keep memory; resuming a RUNNING microVM and suspending a SUSPENDED one are conflicts', async () => {
    await assert.rejects(a.send(new ResumeMicrovmCommand({ microvmIdentifier: first })), ConflictException);
    assert.deepEqual(await a.send(new SuspendMicrovmCommand({ microvmIdentifier: first })).then(({ $metadata: _, ...rest }) => rest), {});
    await waitForState(a, first, ['SUSPENDED']);
    // /metrics shows it per tenant: A has a SUSPENDED microVM whose checkpoint takes disk; B has nothing.
    const m = await scrapeUntil(d.apiUrl, (t) => (sample(t, 'cubby_tenant_microvms', { tenant: nameA, state: 'SUSPENDED' }) ?? 0) >= 1);
    assert.ok((sample(m, 'cubby_tenant_snapshot_bytes', { tenant: nameA }) ?? 0) > 1024 * 1024, 'the checkpoint is on disk');
    assert.ok((sample(m, 'cubby_tenant_running_seconds', { tenant: nameA }) ?? 0) > 0);
    assert.ok((sample(m, 'cubby_tenant_cost_estimate', { tenant: nameA, currency: 'USD' }) ?? 0) > 0);
    for (const metric of ['cubby_tenant_running_seconds', 'cubby_tenant_suspended_seconds', 'cubby_tenant_snapshot_bytes']) {
      assert.equal(sample(m, metric, { tenant: nameB }), 0, `${metric} of tenant B`);
    }
    assert.equal(sample(m, 'cubby_tenant_microvms', { tenant: nameB, state: 'RUNNING' }), 0);
    await assert.rejects(a.send(new SuspendMicrovmCommand({ microvmIdentifier: first })), ConflictException);
    await a.send(new ResumeMicrovmCommand({ microvmIdentifier: first }));
    await waitForState(a, first, ['RUNNING']);
    assert.equal(await bump(first), 2, 'the counter continues after the resume');
  });

  test('CreateMicrovmShellAuthToken opens an interactive shell over WebSocket; its exit code comes back', async () => {
    const r = await a.send(new CreateMicrovmShellAuthTokenCommand({ microvmIdentifier: first, expirationInMinutes: 5 }));
    const token = r.authToken?.['X-aws-proxy-auth'];
    assert.ok(token);
    const shell = await openShell(d, first, token);
    try {
      shell.type('echo $((6*7))\r');
      await shell.waitFor(/[\r\n]42\r\n/);
      // The app is the sandbox's first process: what goes to its stdout is in the microVM's logs.
      shell.type('echo "from-the-shell-$((2*3))" >/proc/1/fd/1\r');
      shell.type('exit 3\r');
      assert.deepEqual(await shell.exit, { type: 'exit', code: 3, signal: null });
    } finally {
      shell.close();
    }
    const logs = await cubbyExtension('GET', `/cubby/v1/microvms/${first}/logs`, a);
    assert.match(logs, /from-the-shell-6/, "the app's stdout, as GET /cubby/v1/microvms/{id}/logs shows it");
    await assert.rejects(
      openShell(d, first, await endpointToken(a, first)),
      /401|403|Unexpected server response/,
      'an endpoint token does not open the shell',
    );
  });

  test('TagResource, ListTags and UntagResource on an image ARN and a microVM ARN', async () => {
    for (const [arn, initial] of [
      [imageArn(IMAGE), { team: 'a' }],
      [microvmArn(first), {}],
    ] as const) {
      await a.send(new TagResourceCommand({ Resource: arn, Tags: { env: 'test', owner: 'compat' } }));
      assert.deepEqual((await a.send(new ListTagsCommand({ Resource: arn }))).Tags, { ...initial, env: 'test', owner: 'compat' });
      await a.send(new UntagResourceCommand({ Resource: arn, TagKeys: ['owner', 'absent'] }));
      assert.deepEqual((await a.send(new ListTagsCommand({ Resource: arn }))).Tags, { ...initial, env: 'test' });
    }
    await assert.rejects(
      a.send(new TagResourceCommand({ Resource: microvmArn('mvm-does-not-exist'), Tags: { x: 'y' } })),
      ResourceNotFoundException,
    );
    await assert.rejects(a.send(new TagResourceCommand({ Resource: imageArn(IMAGE), Tags: { 'aws:reserved': 'y' } })), ValidationException);
  });

  test("a second tenant can neither see nor change the first one's resources", async () => {
    const before = {
      image: await a.send(new GetMicrovmImageCommand({ imageIdentifier: IMAGE })),
      vm: await a.send(new GetMicrovmCommand({ microvmIdentifier: first })),
      tags: (await a.send(new ListTagsCommand({ Resource: imageArn(IMAGE) }))).Tags,
    };
    const buildId =
      (await a.send(new ListMicrovmImageBuildsCommand({ imageIdentifier: IMAGE, imageVersion: '1.0' }))).items?.[0]?.buildId ?? '';
    for (const image of [IMAGE, imageArn(IMAGE)]) {
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['GetMicrovmImage', () => b.send(new GetMicrovmImageCommand({ imageIdentifier: image }))],
        ['UpdateMicrovmImage', () => b.send(new UpdateMicrovmImageCommand({ imageIdentifier: image, ...settings(counterUri) }))],
        ['DeleteMicrovmImage', () => b.send(new DeleteMicrovmImageCommand({ imageIdentifier: image }))],
        ['GetMicrovmImageVersion', () => b.send(new GetMicrovmImageVersionCommand({ imageIdentifier: image, imageVersion: '1.0' }))],
        ['ListMicrovmImageVersions', () => b.send(new ListMicrovmImageVersionsCommand({ imageIdentifier: image }))],
        [
          'UpdateMicrovmImageVersion',
          () => b.send(new UpdateMicrovmImageVersionCommand({ imageIdentifier: image, imageVersion: '1.0', status: 'INACTIVE' })),
        ],
        ['DeleteMicrovmImageVersion', () => b.send(new DeleteMicrovmImageVersionCommand({ imageIdentifier: image, imageVersion: '1.0' }))],
        ['GetMicrovmImageBuild', () => b.send(new GetMicrovmImageBuildCommand({ imageIdentifier: image, imageVersion: '1.0', buildId }))],
        ['ListMicrovmImageBuilds', () => b.send(new ListMicrovmImageBuildsCommand({ imageIdentifier: image, imageVersion: '1.0' }))],
        ['RunMicrovm', () => b.send(new RunMicrovmCommand({ imageIdentifier: image }))],
      ];
      for (const [op, call] of calls) await assert.rejects(call(), ResourceNotFoundException, `${op}(${image}) from tenant B`);
    }
    for (const vm of [first, microvmArn(first)]) {
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['GetMicrovm', () => b.send(new GetMicrovmCommand({ microvmIdentifier: vm }))],
        ['SuspendMicrovm', () => b.send(new SuspendMicrovmCommand({ microvmIdentifier: vm }))],
        ['ResumeMicrovm', () => b.send(new ResumeMicrovmCommand({ microvmIdentifier: vm }))],
        ['TerminateMicrovm', () => b.send(new TerminateMicrovmCommand({ microvmIdentifier: vm }))],
        [
          'CreateMicrovmAuthToken',
          () =>
            b.send(new CreateMicrovmAuthTokenCommand({ microvmIdentifier: vm, expirationInMinutes: 5, allowedPorts: [{ allPorts: {} }] })),
        ],
        [
          'CreateMicrovmShellAuthToken',
          () => b.send(new CreateMicrovmShellAuthTokenCommand({ microvmIdentifier: vm, expirationInMinutes: 5 })),
        ],
      ];
      for (const [op, call] of calls) await assert.rejects(call(), ResourceNotFoundException, `${op}(${vm}) from tenant B`);
    }
    for (const arn of [imageArn(IMAGE), microvmArn(first)]) {
      await assert.rejects(
        b.send(new TagResourceCommand({ Resource: arn, Tags: { stolen: 'yes' } })),
        ResourceNotFoundException,
        `TagResource(${arn})`,
      );
      await assert.rejects(b.send(new ListTagsCommand({ Resource: arn })), ResourceNotFoundException, `ListTags(${arn})`);
      await assert.rejects(
        b.send(new UntagResourceCommand({ Resource: arn, TagKeys: ['team'] })),
        ResourceNotFoundException,
        `UntagResource(${arn})`,
      );
    }
    await assert.rejects(b.send(new ListMicrovmsCommand({ imageIdentifier: imageArn(IMAGE) })), ResourceNotFoundException);
    assert.deepEqual((await b.send(new ListMicrovmImagesCommand({}))).items, []);
    assert.deepEqual((await b.send(new ListMicrovmsCommand({}))).items, []);
    const notFound = (e: unknown) => e instanceof ExtensionError && e.name === 'ResourceNotFoundException';
    await assert.rejects(cubbyExtension('GET', `/cubby/v1/microvms/${first}/logs`, b), notFound);
    await assert.rejects(cubbyExtension('GET', `/cubby/v1/images/${IMAGE}/versions/1.0/log`, b), notFound);
    // A's upload is not B's: B naming A's artifact URI finds nothing, and nothing is recorded.
    await assert.rejects(
      b.send(new CreateMicrovmImageCommand({ name: 'stolen', ...settings(counterUri) })),
      (e: unknown) => e instanceof ValidationException && /no uploaded artifact/.test(e.message),
    );
    await assert.rejects(b.send(new GetMicrovmImageCommand({ imageIdentifier: 'stolen' })), ResourceNotFoundException);

    const vm = await a.send(new GetMicrovmCommand({ microvmIdentifier: first }));
    assert.equal(vm.state, 'RUNNING');
    assert.equal(vm.state, before.vm.state);
    const image = await a.send(new GetMicrovmImageCommand({ imageIdentifier: IMAGE }));
    assert.equal(image.state, before.image.state);
    assert.equal(image.latestActiveImageVersion, '1.0');
    assert.deepEqual(
      (await a.send(new ListMicrovmImageVersionsCommand({ imageIdentifier: IMAGE }))).items?.map((v) => [v.imageVersion, v.status]),
      [['1.0', 'ACTIVE']],
    );
    assert.deepEqual((await a.send(new ListTagsCommand({ Resource: imageArn(IMAGE) }))).Tags, before.tags);
    assert.equal(await bump(first), 3, "the microVM's memory is untouched");
  });

  test('UpdateMicrovmImage builds 1.1; version status picks what RunMicrovm launches; a version in use cannot be deleted', async () => {
    const updated = await a.send(new UpdateMicrovmImageCommand({ imageIdentifier: IMAGE, ...settings(counterUri, { RELEASE: '1.1' }) }));
    assert.equal(updated.imageVersion, '1.1');
    const v11 = await waitForVersion(a, IMAGE, '1.1');
    assert.equal(v11.state, 'SUCCESSFUL', v11.stateReason);
    assert.equal(await bump(first), 4, 'a 1.0 microVM kept running, with its memory, through the 1.1 build');
    assert.deepEqual(
      (await a.send(new ListMicrovmImageVersionsCommand({ imageIdentifier: IMAGE }))).items?.map((v) => v.imageVersion).sort(),
      ['1.0', '1.1'],
    );
    assert.equal((await a.send(new GetMicrovmImageCommand({ imageIdentifier: IMAGE }))).latestActiveImageVersion, '1.1');

    const latest = await run(a);
    assert.equal(latest.imageVersion, '1.1', 'without imageVersion: the latest ACTIVE version');
    const off = await a.send(new UpdateMicrovmImageVersionCommand({ imageIdentifier: IMAGE, imageVersion: '1.1', status: 'INACTIVE' }));
    assert.equal(off.status, 'INACTIVE');
    const older = await run(a);
    assert.equal(older.imageVersion, '1.0', '1.1 is INACTIVE: the latest ACTIVE one is 1.0');
    const on = await a.send(new UpdateMicrovmImageVersionCommand({ imageIdentifier: IMAGE, imageVersion: '1.1', status: 'ACTIVE' }));
    assert.equal(on.status, 'ACTIVE');
    const newer = await run(a);
    assert.equal(newer.imageVersion, '1.1');
    await assert.rejects(
      a.send(new UpdateMicrovmImageVersionCommand({ imageIdentifier: IMAGE, imageVersion: '1.1', status: 'RETIRED' as 'ACTIVE' })),
      ValidationException,
    );

    await assert.rejects(
      a.send(new DeleteMicrovmImageVersionCommand({ imageIdentifier: IMAGE, imageVersion: '1.0' })),
      ConflictException,
      '1.0 is in use',
    );
    await Promise.all([first, second, older.microvmId ?? '', latest.microvmId ?? ''].map(terminate));
    const deleted = await a.send(new DeleteMicrovmImageVersionCommand({ imageIdentifier: IMAGE, imageVersion: '1.0' }));
    assert.equal(deleted.imageVersion, '1.0');
    await assert.rejects(
      a.send(new GetMicrovmImageVersionCommand({ imageIdentifier: IMAGE, imageVersion: '1.0' })),
      ResourceNotFoundException,
    );
    assert.deepEqual(
      (await a.send(new ListMicrovmImageVersionsCommand({ imageIdentifier: IMAGE }))).items?.map((v) => v.imageVersion),
      ['1.1'],
    );
    assert.equal((await a.send(new GetMicrovmImageCommand({ imageIdentifier: IMAGE }))).latestActiveImageVersion, '1.1');
    assert.equal(await bump(newer.microvmId ?? ''), 1, 'the 1.1 microVM is unaffected');
  });

  test('DeleteMicrovmImage is refused while a microVM uses the image, then works', async () => {
    const live = (await a.send(new ListMicrovmsCommand({ imageIdentifier: IMAGE }))).items?.filter((m) => m.state !== 'TERMINATED') ?? [];
    assert.equal(live.length, 1);
    await assert.rejects(a.send(new DeleteMicrovmImageCommand({ imageIdentifier: IMAGE })), ConflictException);
    await terminate(live[0]?.microvmId ?? '');
    const gone = await a.send(new DeleteMicrovmImageCommand({ imageIdentifier: imageArn(IMAGE) }));
    assert.equal(gone.imageIdentifier, imageArn(IMAGE));
    await a.send(new DeleteMicrovmImageCommand({ imageIdentifier: OTHER }));
    await assert.rejects(a.send(new GetMicrovmImageCommand({ imageIdentifier: IMAGE })), ResourceNotFoundException);
    await assert.rejects(a.send(new RunMicrovmCommand({ imageIdentifier: IMAGE })), ResourceNotFoundException);
    assert.deepEqual((await a.send(new ListMicrovmImagesCommand({}))).items, []);
  });

  test('errors carry the client exception classes', async () => {
    await assert.rejects(a.send(new GetMicrovmImageCommand({ imageIdentifier: 'no-such-image' })), ResourceNotFoundException);
    await assert.rejects(a.send(new GetMicrovmCommand({ microvmIdentifier: 'mvm-no-such-one' })), ResourceNotFoundException);
    await assert.rejects(a.send(new RunMicrovmCommand({ imageIdentifier: 'no-such-image' })), ResourceNotFoundException);
    await assert.rejects(a.send(new GetMicrovmImageCommand({ imageIdentifier: 'arn:aws:lambda:local:nope' })), ValidationException);
    await assert.rejects(a.send(new CreateMicrovmImageCommand({ name: 'bad name!', ...settings(counterUri) })), ValidationException);
    await assert.rejects(a.send(new CreateMicrovmImageCommand({ name: 'x', ...settings('ftp://example/app.zip') })), ValidationException);
    await assert.rejects(
      a.send(new CreateMicrovmAuthTokenCommand({ microvmIdentifier: 'mvm-x', expirationInMinutes: 0, allowedPorts: [{ port: 8080 }] })),
      ValidationException,
    );
    await assert.rejects(a.send(new ListMicrovmsCommand({ nextToken: 'not-a-token' })), ValidationException);
    await assert.rejects(
      a.send(new CreateMicrovmImageCommand({ name: 'missing', ...settings(`file://${path.join(tmp, 'missing.zip')}`) })),
      ValidationException,
    );
    const dupe = await a.send(new CreateMicrovmImageCommand({ name: 'dupe', ...settings(failingUri) }));
    assert.equal(dupe.imageVersion, '1.0');
    await assert.rejects(a.send(new CreateMicrovmImageCommand({ name: 'dupe', ...settings(counterUri) })), ConflictException);
    await waitForVersion(a, 'dupe', '1.0', 60_000);
    await a.send(new DeleteMicrovmImageCommand({ imageIdentifier: 'dupe' }));
  });
});
