/**
 * Managed templates follow the host's agent: `base` built with agent A; the daemon restarts with
 * agent B (same program, other bytes, so another content address); the next Sandbox.create answers
 * at once from the old version (still agent A), a new version of `base` is built in the background
 * and becomes the latest, and a later sandbox runs agent B. Real daemon, real runsc, real e2b SDK.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Sandbox } from 'e2b';
import { startTestDaemon, type TestDaemon } from '../../support/daemon.js';
import { ensureTestBaseImage } from '../../support/base-image.js';
import { assertNoLeaks, hostResources } from '../../support/leaks.js';
import { signedRequest, type SignedKey } from '../../support/signed-http.js';
import { terminateTenantMicrovms } from '../../e2e/support.js';
import { defaultAgentSource } from '../../../src/daemon/agent-binary.js';
import { AGENT_PATH } from '../../../src/core/images/agent.js';
import type { Caller } from '../../../src/core/services.js';
import type { Tenant } from '../../../src/core/model.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('managed templates follow the host agent', { timeout: 1_500_000 }, () => {
  let baseline: Set<string>;
  let d: TestDaemon;
  let tmp = '';
  let key = '';
  let tenant: Tenant;
  let accessKey: SignedKey;
  let digestA = '';
  let digestB = '';
  let agentB = '';
  const envBefore = process.env.CUBBY_AGENT_BINARY;
  const created = new Set<string>();
  const opts = () => ({ apiKey: key, apiUrl: d.apiUrl, domain: d.config.domain, sandboxUrl: d.gatewayUrl, requestTimeoutMs: 120_000 });
  const caller = (): Caller => ({ tenant });

  /** GetMicrovmImageVersion of `base` as it is on the wire (Cubby's extension members included). */
  async function wireVersion(version: string): Promise<Record<string, unknown> | undefined> {
    const r = await signedRequest(d.apiUrl, accessKey, { method: 'GET', path: `/2025-09-09/microvm-images/base/versions/${version}` });
    assert.equal(r.status, 200, r.text);
    return r.json;
  }

  /** The agent binary a sandbox runs: the digest of what is mounted at AGENT_PATH inside it. */
  async function agentIn(s: Sandbox): Promise<string> {
    return (await s.commands.run(`sha256sum ${AGENT_PATH}`)).stdout.split(' ')[0] ?? '';
  }

  before(async () => {
    baseline = await hostResources();
    await ensureTestBaseImage('debian-12-e2b');
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-agent-refresh-'));
    // Copies, so a rebuild of dist/agent during the test changes nothing; B is A with bytes
    // appended (an ELF ignores trailing data): the same agent under another content address.
    const bytes = await fs.readFile(defaultAgentSource());
    const agentA = path.join(tmp, 'agent-a');
    agentB = path.join(tmp, 'agent-b');
    await fs.writeFile(agentA, bytes, { mode: 0o755 });
    const bBytes = Buffer.concat([bytes, Buffer.from('\ncubby agent-refresh test variant\n')]);
    await fs.writeFile(agentB, bBytes, { mode: 0o755 });
    digestA = sha256(bytes);
    digestB = sha256(bBytes);
    process.env.CUBBY_AGENT_BINARY = agentA;
    d = await startTestDaemon();
    const t = await d.tenant('agent-refresh');
    tenant = t.tenant;
    accessKey = { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey };
    key = (await d.store.createE2bKey(t.tenantId)).apiKey;
  });

  after(async () => {
    if (envBefore === undefined) delete process.env.CUBBY_AGENT_BINARY;
    else process.env.CUBBY_AGENT_BINARY = envBefore;
    for (const id of created) await Sandbox.kill(id, opts()).catch(() => undefined);
    await terminateTenantMicrovms(d, key);
    await d?.destroy();
    await fs.rm(tmp, { recursive: true, force: true });
    await assertNoLeaks(baseline, [], 10_000);
  });

  test('base is rebuilt in the background for a new agent; creates never wait for it', async () => {
    // 1. The first create builds `base` 1.0 with agent A.
    const s1 = await Sandbox.create({ ...opts(), timeoutMs: 600_000 });
    created.add(s1.sandboxId);
    assert.equal(await agentIn(s1), digestA);
    const v1 = await d.core.services.images.versionAgent(caller(), 'base', '1.0');
    assert.equal(v1?.current, true);
    assert.ok(v1?.binary?.includes(digestA), `1.0 records agent A: ${v1?.binary}`);
    await s1.kill();
    created.delete(s1.sandboxId);

    // 2. Cubby is "upgraded": the same data directory, another agent binary.
    process.env.CUBBY_AGENT_BINARY = agentB;
    d = await d.restart();
    const stale = await d.core.services.images.versionAgent(caller(), 'base', '1.0');
    assert.equal(stale?.current, false, '1.0 is on an older agent now');
    assert.ok(stale?.host?.includes(digestB));
    assert.deepEqual(await wireVersion('1.0').then((w) => [w?.cubbyAgentSha256, w?.cubbyAgentCurrent]), [digestA, false]);

    // 3. The next create is a restore of 1.0 (no build on its path), still with agent A.
    const t0 = Date.now();
    const s2 = await Sandbox.create({ ...opts(), timeoutMs: 600_000 });
    const createMs = Date.now() - t0;
    created.add(s2.sandboxId);
    assert.ok(createMs < 60_000, `the create answered from the old version (${createMs} ms)`);
    assert.equal(await agentIn(s2), digestA);
    // Concurrent creates share the one refresh: exactly one new version.
    const s3 = await Sandbox.create({ ...opts(), timeoutMs: 600_000 });
    created.add(s3.sandboxId);
    const img = await d.store.getImageByName(tenant.id, 'base');
    assert.ok(img);
    assert.equal(img.latestActiveVersion, '1.0', 'the old version serves while the new one builds');
    // The refresh is started in the background, right after the create's template lookup.
    const versions = async () => (await d.store.listVersions(tenant.id, img.id)).items.map((v) => `${v.version}:${v.state}`);
    for (let i = 0; i < 60 && (await versions()).length < 2; i++) await new Promise((r) => setTimeout(r, 500));
    const building = await versions();
    assert.equal(building.length, 2, `one refresh build: ${building.join(', ')}`);
    await s2.kill();
    await s3.kill();
    created.delete(s2.sandboxId);
    created.delete(s3.sandboxId);

    // 4. The refresh becomes the latest version, recorded with agent B.
    const deadline = Date.now() + 600_000;
    let latest: string | undefined = img.latestActiveVersion;
    while (latest === '1.0' && Date.now() < deadline) {
      const v = await d.store.getVersion(tenant.id, img.id, '1.1');
      assert.notEqual(v?.state, 'FAILED', `refresh build failed: ${v?.stateReason}`);
      await new Promise((r) => setTimeout(r, 1000));
      latest = (await d.store.getImageByName(tenant.id, 'base'))?.latestActiveVersion;
    }
    assert.equal(latest, '1.1');
    const v2 = await d.core.services.images.versionAgent(caller(), 'base', '1.1');
    assert.equal(v2?.current, true);
    assert.ok(v2?.binary?.includes(digestB));
    assert.deepEqual(await wireVersion('1.1').then((w) => [w?.cubbyAgentSha256, w?.cubbyAgentCurrent]), [digestB, true]);
    assert.match(await d.core.services.images.buildLog(caller(), 'base', '1.1'), /snapshotted with the agent .*agent\//);

    // 5. A later sandbox runs the new agent, and no further build starts.
    const s4 = await Sandbox.create({ ...opts(), timeoutMs: 600_000 });
    created.add(s4.sandboxId);
    assert.equal(await agentIn(s4), digestB);
    assert.equal((await s4.commands.run('echo hi')).stdout, 'hi\n');
    assert.equal((await d.store.listVersions(tenant.id, img.id)).items.length, 2);
  });
});
