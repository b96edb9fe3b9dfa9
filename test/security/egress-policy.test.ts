/**
 * The operator's address policy, attacked through a real daemon and the official client:
 * egress connectors aimed at the metadata service or at everything are refused and nothing is
 * recorded or left; code artifact URLs whose name resolves to loopback, or that redirect there,
 * are refused with the one fetch text and the loopback target never sees a request.
 * The daemon runs as an operator who allows 127.0.0.2/32 only (the allowed first hop of the
 * redirect attack); everything else private stays refused.
 */
import assert from 'node:assert/strict';
import dns from 'node:dns';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateMicrovmImageCommand,
  GetMicrovmImageCommand,
  ListMicrovmsCommand,
  ResourceNotFoundException,
  RunMicrovmCommand,
  TerminateMicrovmCommand,
  ValidationException,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { fixtureArtifact, startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { COUNTER_LIFECYCLE_HOOKS, createImage, waitForState, waitForVersion } from '../e2e/support.js';

const ONE_TEXT = (uri: string) => `the code artifact could not be fetched from ${uri}`;

interface Loopback {
  port: number;
  seen: string[];
  close(): Promise<void>;
}

/** A server on a loopback address that records every request and answers with a redirect or 404. */
async function loopbackServer(address: string, redirectTo?: string): Promise<Loopback> {
  const seen: string[] = [];
  const srv = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    if (redirectTo) {
      res.writeHead(302, { location: redirectTo });
      res.end();
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => srv.listen(0, address, r));
  return {
    port: (srv.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

describe('operator address policy against a real daemon', { timeout: 900_000 }, () => {
  let d: TestDaemon;
  let client: LambdaMicrovmsClient;
  let tmp: string;
  let baseline: Set<string>;
  const servers: Loopback[] = [];

  before(async () => {
    baseline = await hostResources();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-egress-policy-'));
    d = await startTestDaemon({ egressAllowPrivate: '127.0.0.2/32' });
    client = (await d.tenant('egress-policy')).client;
  });
  after(async () => {
    for (const s of servers) await s.close();
    await d?.destroy();
    await fs.rm(tmp, { recursive: true, force: true });
    await assertNoLeaks(baseline, [], 10_000);
  });

  test('RunMicrovm with allow: connectors reaching the metadata service or everything is refused; nothing is recorded', async () => {
    await createImage(client, 'target', await fixtureArtifact('counter', tmp), { hooks: COUNTER_LIFECYCLE_HOOKS });
    assert.equal((await waitForVersion(client, 'target', '1.0')).state, 'SUCCESSFUL');
    // Control: the image runs (so a refusal below is the policy, not a broken image).
    const ok = await client.send(new RunMicrovmCommand({ imageIdentifier: 'target', egressNetworkConnectors: [] }));
    await waitForState(client, ok.microvmId ?? '', ['RUNNING']);
    await client.send(new TerminateMicrovmCommand({ microvmIdentifier: ok.microvmId }));
    await waitForState(client, ok.microvmId ?? '', ['TERMINATED'], 60_000);
    const listedBefore = (await client.send(new ListMicrovmsCommand({}))).items?.map((m) => m.microvmId) ?? [];

    const attacks: [string[], RegExp][] = [
      [['allow:169.254.169.254'], /'allow:169\.254\.169\.254' reaches private or reserved addresses \(169\.254\.0\.0\/16\)/],
      [['allow:169.254.169.254:80'], /169\.254\.0\.0\/16/],
      [
        ['allow:0.0.0.0/0'],
        /'allow:0\.0\.0\.0\/0' reaches private or reserved addresses \(0\.0\.0\.0\/8, 10\.0\.0\.0\/8, 100\.64\.0\.0\/10, 127\.0\.0\.0\/8, /,
      ],
      [['arn:aws:lambda:local:aws:network-connector:allow:10.0.0.0/8'], /10\.0\.0\.0\/8/],
      [['allow:127.0.0.0/30'], /127\.0\.0\.0\/8/], // 127.0.0.2 is allowed, its neighbours are not
    ];
    for (const [connectors, reason] of attacks) {
      await assert.rejects(
        client.send(new RunMicrovmCommand({ imageIdentifier: 'target', egressNetworkConnectors: connectors })),
        (e: unknown) => {
          assert.ok(e instanceof ValidationException, `${connectors.join(',')}: ${String(e)}`);
          assert.match(e.message, reason);
          assert.match(e.message, /use 'internet' for the public internet, or ask the operator to allow the range/);
          return true;
        },
      );
      // The same connectors as image settings.
      await assert.rejects(
        createImage(client, 'egress-attack', await fixtureArtifact('counter', tmp), { egressNetworkConnectors: connectors }),
        ValidationException,
        connectors.join(','),
      );
    }
    const listedAfter = (await client.send(new ListMicrovmsCommand({}))).items?.map((m) => m.microvmId) ?? [];
    assert.deepEqual(listedAfter, listedBefore, 'no microVM was recorded');
    assert.deepEqual(await d.store.listMicrovmsByState(['PENDING', 'RUNNING']), [], 'nothing runs');
    await assert.rejects(client.send(new GetMicrovmImageCommand({ imageIdentifier: 'egress-attack' })), ResourceNotFoundException);
    // The operator's allowance works through the same door: 127.0.0.2 alone is accepted.
    const allowed = await client.send(
      new RunMicrovmCommand({ imageIdentifier: 'target', egressNetworkConnectors: ['allow:127.0.0.2:80'] }),
    );
    assert.deepEqual(allowed.egressNetworkConnectors, ['allow:127.0.0.2:80']);
    await waitForState(client, allowed.microvmId ?? '', ['RUNNING']);
    await client.send(new TerminateMicrovmCommand({ microvmIdentifier: allowed.microvmId }));
    await waitForState(client, allowed.microvmId ?? '', ['TERMINATED'], 60_000);
  });

  /** Creates an image from `uri` and expects the one fetch text, at request time or as the build's reason. */
  async function expectFetchRefused(name: string, uri: string, when: 'request' | 'build'): Promise<void> {
    const create = client.send(
      new CreateMicrovmImageCommand({
        name,
        baseImageArn: 'debian-12-python',
        buildRoleArn: 'arn:aws:iam::000000000000:role/build',
        codeArtifact: { uri },
        hooks: COUNTER_LIFECYCLE_HOOKS,
      }),
    );
    if (when === 'request') {
      await assert.rejects(create, (e: unknown) => {
        assert.ok(e instanceof ValidationException, `${uri}: ${String(e)}`);
        assert.equal(e.message, ONE_TEXT(uri));
        return true;
      });
      await assert.rejects(client.send(new GetMicrovmImageCommand({ imageIdentifier: name })), ResourceNotFoundException);
      return;
    }
    await create;
    const v = await waitForVersion(client, name, '1.0');
    assert.equal(v.state, 'FAILED', uri);
    const reason = v.stateReason ?? '';
    assert.ok(reason.includes(ONE_TEXT(uri)), `${uri}: ${reason}`);
    assert.doesNotMatch(
      reason.replace(ONE_TEXT(uri), ''),
      /127\.|resolves|refused|ECONNREFUSED|HTTP \d|timed out/,
      'the real reason stays in the daemon log',
    );
  }

  test('an artifact URL whose host name resolves to loopback is refused with the one text; the server sees nothing', async (t) => {
    const name = os.hostname();
    const addrs = await dns.promises.lookup(name, { all: true }).catch(() => []);
    const loopback = addrs.length > 0 && addrs.every((a) => a.address.startsWith('127.') && a.address !== '127.0.0.2');
    const target = await loopbackServer('127.0.0.1');
    servers.push(target);
    await expectFetchRefused('via-localhost', `http://localhost:${target.port}/app.zip`, 'request');
    await expectFetchRefused('via-literal', `http://127.0.0.1:${target.port}/app.zip`, 'request');
    await expectFetchRefused('via-mapped', `http://[::ffff:127.0.0.1]:${target.port}/app.zip`, 'request');
    if (loopback) {
      // Resolved only when fetching: the build refuses it, before any connection.
      const own = addrs[0]?.address === '127.0.0.1' ? target : await loopbackServer(addrs[0]?.address ?? '127.0.0.1');
      if (own !== target) servers.push(own);
      await expectFetchRefused('via-hostname', `http://${name}:${own.port}/app.zip`, 'build');
      assert.deepEqual(own.seen, [], 'the server behind the host name saw no request');
    } else {
      t.diagnostic(`${name} does not resolve to loopback here: only localhost and literals were tried`);
    }
    assert.deepEqual(target.seen, [], 'the loopback server saw no request');
  });

  test('an allowed URL that redirects to loopback is refused hop by hop with the one text; the target sees nothing', async () => {
    const target = await loopbackServer('127.0.0.1');
    servers.push(target);
    const hop = await loopbackServer('127.0.0.2', `http://127.0.0.1:${target.port}/app.zip`);
    servers.push(hop);
    const missing = await loopbackServer('127.0.0.2');
    servers.push(missing);
    await expectFetchRefused('redirected', `http://127.0.0.2:${hop.port}/app.zip`, 'build');
    assert.deepEqual(hop.seen, ['/app.zip'], 'control: the allowed first hop was fetched');
    assert.deepEqual(target.seen, [], 'the redirect target on 127.0.0.1 saw no request');
    // A plain failure (404) on an allowed host reads exactly the same.
    await expectFetchRefused('missing', `http://127.0.0.2:${missing.port}/app.zip`, 'build');
    assert.deepEqual(missing.seen, ['/app.zip']);
  });
});
