/**
 * A Node app on the managed debian-12-node base whose `RUN npm ci` installs its dependency from
 * the lockfile (registry.npmjs.org over the build's network), then serves what that dependency
 * computes from the snapshot.
 */
import assert from 'node:assert/strict';
import dns from 'node:dns';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RunMicrovmCommand, TerminateMicrovmCommand, type LambdaMicrovmsClient } from '@aws-sdk/client-lambda-microvms';
import { DEFAULT_ADDRESS_POLICY } from '../../src/util/address-policy.js';
import { ensureTestBaseImage } from '../support/base-image.js';
import { startTestDaemon, viaGateway, type TestDaemon } from '../support/daemon.js';
import { zipDirectory } from '../../src/cli/zip-dir.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { createImage, endpointToken, waitForVersion } from './support.js';

const REGISTRY = 'registry.npmjs.org';

/**
 * The operator allowance the registry needs here: none where it resolves to public addresses. Some
 * networks (this CI's egress proxy among them) answer with an address in a range Cubby refuses by
 * default (203.0.113.0/24): the operator allows exactly those, as `serve --egress-allow-private` would.
 */
async function registryAllowance(): Promise<string | undefined> {
  const found = await dns.promises.lookup(REGISTRY, { all: true, family: 4 });
  const refused = found.map((a) => a.address).filter((a) => !DEFAULT_ADDRESS_POLICY.allows(a));
  return refused.length ? refused.map((a) => `${a}/32`).join(',') : undefined;
}

const FIXTURE = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../test/fixtures/apps/node-npm');

/**
 * The fixture zipped with ca/extra.pem: the CA certificates this host adds to Node's
 * (NODE_EXTRA_CA_CERTS, e.g. an egress proxy that re-signs TLS, as on this CI), else empty. A
 * user behind such a proxy hands its CA to `npm ci` the same way.
 */
async function artifact(into: string): Promise<string> {
  const dir = path.join(into, 'node-npm');
  await fs.cp(FIXTURE, dir, { recursive: true });
  await fs.mkdir(path.join(dir, 'ca'), { recursive: true });
  const extra = process.env.NODE_EXTRA_CA_CERTS
    ? await fs.readFile(process.env.NODE_EXTRA_CA_CERTS).catch(() => Buffer.alloc(0))
    : Buffer.alloc(0);
  await fs.writeFile(path.join(dir, 'ca', 'extra.pem'), extra);
  const zip = path.join(into, 'node-npm.zip');
  await zipDirectory(dir, zip);
  return `file://${zip}`;
}

describe('debian-12-node: npm ci from the lockfile during the build', { timeout: 15 * 60_000 }, () => {
  let d: TestDaemon;
  let client: LambdaMicrovmsClient;
  let tmp: string;
  let baseline: Set<string>;
  const live: string[] = [];

  before(async () => {
    baseline = await hostResources();
    await ensureTestBaseImage('debian-12-node');
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-e2e-node-'));
    const allowance = await registryAllowance();
    d = await startTestDaemon(allowance ? { egressAllowPrivate: allowance } : {});
    client = (await d.tenant('node')).client;
  });

  after(async () => {
    for (const id of live) await client.send(new TerminateMicrovmCommand({ microvmIdentifier: id })).catch(() => undefined);
    await d?.destroy();
    await fs.rm(tmp, { recursive: true, force: true });
    await assertNoLeaks(baseline, [], 10_000);
  });

  test('the app runs with the dependency npm ci installed, on the base Node.js', async () => {
    await createImage(client, 'node-app', await artifact(tmp), {
      baseImageArn: 'debian-12-node',
      resources: [{ minimumMemoryInMiB: 512 }],
    });
    const v = await waitForVersion(client, 'node-app', '1.0', 600_000);
    assert.equal(v.state, 'SUCCESSFUL', v.stateReason);

    const m = await client.send(new RunMicrovmCommand({ imageIdentifier: 'node-app' }));
    assert.equal(m.state, 'RUNNING');
    live.push(m.microvmId ?? '');
    const r = await viaGateway(d, m.microvmId ?? '', '/', { token: await endpointToken(client, m.microvmId ?? '') });
    assert.equal(r.status, 200, r.body);
    const body = JSON.parse(r.body) as { twoDays: number; ms: string; node: string };
    assert.equal(body.ms, '2.1.3', 'the version the lockfile pins');
    assert.equal(body.twoDays, 2 * 24 * 3600 * 1000, 'computed by the installed dependency');
    assert.match(body.node, /^v\d+\./);
  });
});
