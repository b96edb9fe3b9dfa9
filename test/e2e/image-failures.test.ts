/**
 * Image builds that must fail, each with FAILED, a reason and a log, and nothing left behind.
 * (That a new version never disturbs microVMs of an older one, and that a used version cannot be
 * deleted, is proven in api-compat.test.ts, which builds 1.0 and 1.1 of one image anyway.)
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  type CreateMicrovmImageCommandInput,
  GetMicrovmImageCommand,
  ResourceNotFoundException,
  ValidationException,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { fixtureArtifact, startTestDaemon, type TestDaemon } from '../support/daemon.js';
import type { Tenant } from '../../src/core/model.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { makeZip } from '../support/zip-writer.js';
import { createImage, waitForVersion } from './support.js';

const HOOKS = {
  port: 9000,
  microvmHooks: { run: 'ENABLED' },
  microvmImageHooks: { ready: 'ENABLED', readyTimeoutInSeconds: 4, validate: 'ENABLED', validateTimeoutInSeconds: 5 },
} as const;

describe('image build failures', { timeout: 600_000 }, () => {
  let d: TestDaemon;
  let client: LambdaMicrovmsClient;
  let caller: { tenant: Tenant };
  let tmp: string;
  let baseline: Set<string>;

  const create = (name: string, uri: string, extra: Partial<CreateMicrovmImageCommandInput> = {}) =>
    createImage(client, name, uri, { hooks: HOOKS, ...extra });

  before(async () => {
    baseline = await hostResources();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-e2e-fail-'));
    d = await startTestDaemon({ egressAllowPrivate: '127.0.0.1/32' });
    const t = await d.tenant('failures');
    client = t.client;
    caller = { tenant: t.tenant };
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
      const leftovers = (await fs.readdir(dir, { recursive: true }).catch(() => [] as string[])).filter((f) =>
        String(f).endsWith(`/${version}/${sub}`),
      );
      assert.deepEqual(leftovers, [], `a failed build leaves no ${sub}`);
    }
  }

  test('a failing RUN step', async () => {
    await create('run-fails', await fixtureArtifact('run-fails', tmp));
    await expectFailed('run-fails', '1.0', /42|RUN|build/i, /about to fail/);
  });

  test('an app that never gets ready', async () => {
    // It answers 503 for good, so the shortest ready timeout proves the same as a long one.
    const hooks = { ...HOOKS, microvmImageHooks: { ...HOOKS.microvmImageHooks, readyTimeoutInSeconds: 1 } };
    await create('never-ready', await fixtureArtifact('counter', tmp), { environmentVariables: { NEVER_READY: '1' }, hooks });
    await expectFailed('never-ready', '1.0', /never got ready/, /ready hook/);
  });

  test('a validate hook that fails', async () => {
    await create('bad-validate', await fixtureArtifact('counter', tmp), { environmentVariables: { VALIDATE_FAILS: '1' } });
    await expectFailed('bad-validate', '1.0', /validation failed/, /validating/);
  });

  test('hostile and broken local artifacts are refused at once, and nothing is recorded', async () => {
    const zip = async (name: string, entries: Parameters<typeof makeZip>[0]) => {
      const f = path.join(tmp, name);
      await fs.writeFile(f, makeZip(entries));
      return `file://${f}`;
    };
    const cases: Array<[string, string, Record<string, unknown>, RegExp]> = [
      [
        'traversal',
        await zip('traversal.zip', [
          { name: 'Dockerfile', data: 'FROM debian-12-python\n' },
          { name: '../../escaped.txt', data: 'x' },
        ]),
        {},
        /\.\./,
      ],
      ['no-dockerfile', await zip('empty.zip', [{ name: 'app.py', data: 'print(1)' }]), {}, /no Dockerfile/],
      ['bad-dockerfile', await zip('bad.zip', [{ name: 'Dockerfile', data: 'FROM ubuntu:22.04\n' }]), {}, /not a managed image/],
      ['wrong-base', await fixtureArtifact('counter', tmp), { baseImageArn: 'debian-12-minimal' }, /FROM debian-12-python does not match/],
      [
        'outside-roots',
        'file:///etc/passwd',
        {},
        /^the file:\/\/ artifact file:\/\/\/etc\/passwd is outside the directories allowed for this tenant$/,
      ],
      [
        'not-a-zip',
        await (async () => {
          const f = path.join(tmp, 'x.zip');
          await fs.writeFile(f, 'not a zip');
          return `file://${f}`;
        })(),
        {},
        /not a valid zip/,
      ],
      ['no-upload', 'cubby-artifact://AAAAAAAAAAAA', {}, /no uploaded artifact cubby-artifact:\/\/AAAAAAAAAAAA/],
    ];
    for (const [name, uri, extra, reason] of cases) {
      await assert.rejects(create(name, uri, extra), (e: unknown) => {
        assert.ok(e instanceof ValidationException, `${name}: ${String(e)}`);
        assert.match(e.message, reason, name);
        assert.doesNotMatch(e.message, /\/var\/lib|artifacts\//, `${name}: the answer names no host path`);
        return true;
      });
      await assert.rejects(
        client.send(new GetMicrovmImageCommand({ imageIdentifier: name })),
        ResourceNotFoundException,
        `${name} was recorded`,
      );
    }
    await fs.access(path.join(tmp, '..', '..', 'escaped.txt')).then(
      () => assert.fail('traversal wrote outside the build'),
      () => undefined,
    );
  });

  test('a remote artifact is checked by the build: a hostile one FAILS it, with the reason, and writes nothing outside', async () => {
    // Served from loopback, which this daemon was told to allow (by default it refuses private hosts).
    const hostile = makeZip([
      { name: 'Dockerfile', data: 'FROM debian-12-python\n' },
      { name: 'ok.txt', data: 'x' },
      { name: 'a/../../../escaped-remote.txt', data: 'x' },
    ]);
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/zip' });
      res.end(hostile);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      await create('remote-traversal', `http://127.0.0.1:${port}/app.zip`);
      await expectFailed('remote-traversal', '1.0', /\.\./);
    } finally {
      server.close();
    }
    await fs.access(path.join(d.dataDir, '..', 'escaped-remote.txt')).then(
      () => assert.fail('traversal wrote outside the build'),
      () => undefined,
    );
  });
});
