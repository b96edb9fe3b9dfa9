/**
 * The browser automation sandbox: an image on the debian-12-chromium base (its app is headless
 * Chromium, snapshotted started), launched with RunMicrovm and driven by Playwright's
 * connectOverCDP through the gateway with the endpoint token header: a page is opened, script
 * evaluated and a screenshot taken, all inside the microVM.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateMicrovmImageCommand,
  RunMicrovmCommand,
  TerminateMicrovmCommand,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { chromium } from 'playwright-core';
import { withCubbyMembers } from '../../src/client/cubby-members.js';
import { CDP_PORT } from '../../src/images/base/chromium-launcher.js';
import { ensureTestBaseImage } from '../support/base-image.js';
import { fixtureArtifact, startTestDaemon, viaGateway, type TestDaemon } from '../support/daemon.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { resolveLocalhostNames } from '../support/localhost-dns.js';
import { endpointToken, waitForVersion } from './support.js';

/** What a browser image asks for: room for Chromium, and no RLIMIT_AS (V8 reserves far more address space than it uses). */
const CHROMIUM_IMAGE_MEMBERS = { cubbyAddressSpaceMiB: 0, cubbyMaxProcesses: 512 };

describe('debian-12-chromium driven over CDP through the gateway', { timeout: 15 * 60_000 }, () => {
  let d: TestDaemon;
  let client: LambdaMicrovmsClient;
  let tmp: string;
  let baseline: Set<string>;
  let undoDns: () => void;
  const live: string[] = [];

  before(async () => {
    baseline = await hostResources();
    undoDns = resolveLocalhostNames();
    await ensureTestBaseImage('debian-12-chromium');
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-e2e-chromium-'));
    d = await startTestDaemon();
    client = (await d.tenant('browser')).client;
    await client.send(
      withCubbyMembers(
        new CreateMicrovmImageCommand({
          name: 'browser',
          baseImageArn: 'debian-12-chromium',
          buildRoleArn: 'arn:aws:iam::000000000000:role/build',
          codeArtifact: { uri: await fixtureArtifact('chromium', tmp) },
          resources: [{ minimumMemoryInMiB: 1024 }],
        }),
        CHROMIUM_IMAGE_MEMBERS,
      ),
    );
    const v = await waitForVersion(client, 'browser', '1.0', 600_000);
    assert.equal(v.state, 'SUCCESSFUL', v.stateReason);
  });

  after(async () => {
    undoDns?.();
    for (const id of live) await client.send(new TerminateMicrovmCommand({ microvmIdentifier: id })).catch(() => undefined);
    await d?.destroy();
    await fs.rm(tmp, { recursive: true, force: true });
    await assertNoLeaks(baseline, [], 10_000);
  });

  test('Playwright connects over CDP with the token header, opens a page, evaluates script and takes a screenshot', async () => {
    const t0 = Date.now();
    const m = await client.send(new RunMicrovmCommand({ imageIdentifier: 'browser' }));
    assert.equal(m.state, 'RUNNING');
    const id = m.microvmId ?? '';
    live.push(id);
    const token = await endpointToken(client, id, [CDP_PORT]);

    // Without the token the DevTools port is not reachable.
    const refused = await viaGateway(d, id, '/json/version', { port: CDP_PORT });
    assert.equal(refused.status, 401, refused.body);

    const endpoint = `http://${id}.${d.config.domain}:${d.gatewayPort}`;
    const browser = await chromium.connectOverCDP(endpoint, {
      headers: { 'x-aws-proxy-auth': token, 'x-aws-proxy-port': String(CDP_PORT) },
      timeout: 60_000,
    });
    try {
      const connectedMs = Date.now() - t0;
      assert.match(browser.version(), /^\d+\./, 'the browser in the microVM answers');
      // The snapshot holds a started browser: its default context and first tab are already there.
      const context = browser.contexts()[0];
      assert.ok(context, 'the default context of the running browser');
      assert.ok(context.pages().length >= 1, 'the tab the browser started with');
      const page = await context.newPage();
      await page.setViewportSize({ width: 640, height: 480 });
      await page.goto('data:text/html,<title>cubby</title><h1 id="h">made in a microVM</h1>');
      assert.equal(await page.title(), 'cubby');
      // Evaluated in the page (a string: this project's types have no DOM).
      const evaluated = (await page.evaluate(
        "({ text: document.getElementById('h').textContent, sum: 6 * 7, agent: navigator.userAgent })",
      )) as {
        text: string;
        sum: number;
        agent: string;
      };
      assert.deepEqual({ text: evaluated.text, sum: evaluated.sum }, { text: 'made in a microVM', sum: 42 });
      assert.match(evaluated.agent, /HeadlessChrome/);
      const png = await page.screenshot();
      assert.ok(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'a PNG');
      // IHDR: width and height at bytes 16..24 are the viewport's.
      assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [640, 480]);
      assert.ok(png.length > 1000, `a rendered page, not an empty image (${png.length} bytes)`);
      console.error(`[chromium-cdp] RunMicrovm to CDP connection ${connectedMs} ms; screenshot ${png.length} bytes`);
    } finally {
      await browser.close();
    }
    // Closing a CDP connection only disconnects: the browser in the microVM still answers.
    const after = await viaGateway(d, id, '/json/version', { token, port: CDP_PORT });
    assert.equal(after.status, 200, after.body);
    assert.match(after.body, /HeadlessChrome/);
  });
});
