/**
 * The web console in a real browser (Debian's Chromium, headless, through playwright-core)
 * against a real daemon with real sandboxes: sign-in, an image built from an upload with its log
 * streaming, launch, live state without a reload, the web shell, suspend, resume through "copy
 * curl", terminate; tenant isolation through the pages and the JSON; a forged cross-site request;
 * an expired session; the operator's one-time link. One browser and one microVM for the file.
 *
 * Screenshots for docs/console.md: CUBBY_CONSOLE_SCREENSHOTS=docs/console node --test ... (see
 * docs/console.md); otherwise they go to a temporary directory.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { GetMicrovmCommand, SuspendMicrovmCommand, TerminateMicrovmCommand } from '@aws-sdk/client-lambda-microvms';
import { startTestDaemon, type TestDaemon } from '../../support/daemon.js';
import { zipDirectory } from '../../../src/cli/zip-dir.js';
import { waitForState } from '../../e2e/support.js';

const run = promisify(execFile);
const CHROMIUM = process.env.CUBBY_CHROMIUM ?? '/usr/bin/chromium';
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../..');
const BUILD_MS = 10 * 60_000;

/** In the page: how wide the document is, and controls (outside sideways-scrolling tables) beyond the screen. */
const FIT_PROBE = `(() => {
  const w = innerWidth;
  const out = [...document.querySelectorAll('nav a, header button, main button, main input, main select, main a')]
    .map((e) => ({ e, r: e.getBoundingClientRect() }))
    .filter(({ e, r }) => r.width > 0 && !e.closest('.table-wrap') && (r.left < 0 || r.right > w))
    .map(({ e }) => e.outerHTML.slice(0, 80));
  return { scroll: document.scrollingElement.scrollWidth, width: w, out };
})()`;

/** In the page: WCAG contrast of body text, muted text, links, a PASS badge and a button against their backgrounds. */
const COLOUR_PROBE = `(() => {
  const lum = (c) => {
    const [r, g, b] = (c.match(/[\\d.]+/g) || []).slice(0, 3).map((v) => {
      const s = Number(v) / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (x, y) => {
    const [hi, lo] = [lum(x), lum(y)].sort((p, q) => q - p);
    return (hi + 0.05) / (lo + 0.05);
  };
  const css = (sel) => getComputedStyle(document.querySelector(sel));
  const bg = getComputedStyle(document.body).backgroundColor;
  const pairs = {
    body: [getComputedStyle(document.body).color, bg],
    muted: [css('main .muted').color, bg],
    link: [css('main a').color, bg],
    pass: [css('.badge-ok').color, bg],
    button: [css('main button[type=submit]').color, css('main button[type=submit]').backgroundColor],
  };
  return { bg, fg: pairs.body[0], ratios: Object.fromEntries(Object.entries(pairs).map(([k, [f, b]]) => [k, ratio(f, b)])) };
})()`;

/** In the page: the focused element's name, text and focus outline. */
const FOCUS_PROBE = `(() => {
  const e = document.activeElement;
  return { name: (e && e.getAttribute('name')) || '', text: (e && e.textContent) || '', outline: e ? getComputedStyle(e).outlineStyle : '' };
})()`;

/** Relative luminance of a CSS rgb() colour (WCAG 2). */
function lum(c: string): number {
  const [r = 0, g = 0, b = 0] = (c.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
    const s = Number(v) / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

describe('web console in Chromium', { timeout: 20 * 60_000 }, () => {
  let d: TestDaemon;
  let tmp: string;
  let shots: string;
  let browser: Browser;
  let a: Awaited<ReturnType<TestDaemon['tenant']>>;
  let b: Awaited<ReturnType<TestDaemon['tenant']>>;
  let ctxA: BrowserContext;
  let pageA: Page;
  let microvmId = '';

  const url = (hash = '') => `${d.apiUrl}/console/${hash}`;
  const shot = (page: Page, name: string, fullPage = true) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage });

  async function signIn(ctx: BrowserContext, keyId: string, secret: string): Promise<Page> {
    const page = await ctx.newPage();
    await page.goto(url());
    await page.getByLabel('Access key ID').fill(keyId);
    await page.getByLabel('Secret access key').fill(secret);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByTestId('who').waitFor();
    return page;
  }

  /** The console's JSON as the signed-in page sees it (its cookie; CSRF token from the session). */
  async function pageJson(page: Page, method: string, p: string, opts: { csrf?: boolean } = {}) {
    return page.evaluate(
      async ([method, p, withCsrf]) => {
        const s = (await (await fetch('/console/api/session')).json()) as { csrf: string };
        const res = await fetch(p as string, { method: method as string, headers: withCsrf ? { 'x-cubby-csrf': s.csrf } : {} });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      },
      [method, p, opts.csrf ?? true] as const,
    );
  }

  before(async () => {
    d = await startTestDaemon();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-console-'));
    shots = process.env.CUBBY_CONSOLE_SCREENSHOTS ? path.resolve(repo, process.env.CUBBY_CONSOLE_SCREENSHOTS) : tmp;
    await fs.mkdir(shots, { recursive: true });
    a = await d.tenant('console-a');
    b = await d.tenant('console-b');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    ctxA = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  });

  after(async () => {
    if (microvmId) await a.client.send(new TerminateMicrovmCommand({ microvmIdentifier: microvmId })).catch(() => undefined);
    await browser?.close();
    await d?.destroy();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('signs a tenant in with its key pair, and refuses a wrong secret', async () => {
    const page = await ctxA.newPage();
    await page.goto(url());
    await shot(page, 'sign-in');
    await page.getByLabel('Access key ID').fill(a.accessKeyId);
    await page.getByLabel('Secret access key').fill('not-the-secret');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'Sign-in failed' }).waitFor();
    await page.close();
    pageA = await signIn(ctxA, a.accessKeyId, a.secretAccessKey);
    const cookie = (await ctxA.cookies()).find((c) => c.name === 'cubby_console');
    assert.ok(cookie, 'a session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.ok(cookie.expires > Date.now() / 1000, 'it expires');
  });

  it('builds an image from an uploaded zip and streams its log while it builds', async () => {
    const zip = path.join(tmp, 'counter.zip');
    await zipDirectory(path.join(repo, 'test/fixtures/apps/counter'), zip);
    await pageA.goto(url('#/images'));
    await pageA.getByLabel('Name').fill('web');
    await pageA.getByLabel('Managed base').selectOption('debian-12-python');
    await pageA.getByLabel('Zip with a Dockerfile').setInputFiles(zip);
    await pageA.getByRole('button', { name: 'Create image' }).click();
    const log = pageA.getByTestId('build-log');
    // Output appears before the build ends (the stream follows the growing log).
    await log.filter({ hasText: /COPY|STEP/ }).waitFor({ timeout: BUILD_MS });
    assert.notEqual(await pageA.getByTestId('build-state').textContent(), 'SUCCESSFUL', 'log text arrived while the build ran');
    await shot(pageA, 'image-build');
    await pageA
      .getByTestId('build-state')
      .filter({ hasText: /SUCCESSFUL|FAILED/ })
      .waitFor({ timeout: BUILD_MS });
    assert.equal(await pageA.getByTestId('build-state').textContent(), 'SUCCESSFUL', (await log.textContent()) ?? '');
  });

  it('launches, and shows state changes made elsewhere without a reload', async () => {
    await pageA.goto(url('#/microvms'));
    await pageA.evaluate(() => ((globalThis as unknown as { sameDocument: boolean }).sameDocument = true));
    await pageA.getByLabel('Image').selectOption({ label: 'web (1.0)' });
    await pageA.getByRole('button', { name: 'Launch' }).click();
    const row = pageA.locator('tr[data-microvm]').first();
    await row.getByTestId('state').filter({ hasText: 'RUNNING' }).waitFor({ timeout: 120_000 });
    microvmId = (await row.getAttribute('data-microvm')) ?? '';
    assert.match(microvmId, /^[a-z0-9]{20}$/);
    await shot(pageA, 'microvms');
    // Suspended through the API, not the page: the list learns it from the event stream.
    await a.client.send(new SuspendMicrovmCommand({ microvmIdentifier: microvmId }));
    await row.getByTestId('state').filter({ hasText: 'SUSPENDED' }).waitFor({ timeout: 60_000 });
    assert.equal(
      await pageA.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument),
      true,
      'no reload happened',
    );
    await row.getByRole('button', { name: `Resume ${microvmId}` }).click();
    await row.getByTestId('state').filter({ hasText: 'RUNNING' }).waitFor({ timeout: 60_000 });
  });

  it('opens a web shell and runs a command in the microVM', async () => {
    await pageA.goto(url(`#/microvms/${microvmId}`));
    await pageA.getByRole('button', { name: 'Open shell' }).click();
    await pageA.getByTestId('shell-status').filter({ hasText: 'Connected' }).waitFor({ timeout: 30_000 });
    await pageA.locator('.xterm').click();
    await pageA.keyboard.type('echo web-shell-$((6*7)) && cat /app/built.txt\n', { delay: 5 });
    await pageA.locator('.xterm-rows', { hasText: /web-shell-42[\s\S]*built at 20\d\d-/ }).waitFor({ timeout: 30_000 });
    await shot(pageA, 'microvm-shell');
    // Leave the shell the way a user would; the exit frame reaches the page.
    await pageA.keyboard.type('exit\n');
    await pageA.getByTestId('shell-status').filter({ hasText: 'Shell exited (code 0)' }).waitFor({ timeout: 30_000 });
  });

  it('refuses a forged cross-site request, from another site and without the CSRF token', async () => {
    // An attacker's page on another origin (localhost vs 127.0.0.1 are different sites) posts a
    // form at the console while the victim is signed in.
    const evil = http.createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(
        `<form id="f" method="POST" action="${d.apiUrl}/console/api/microvms/${microvmId}/terminate"></form>` +
          `<script>fetch('${d.apiUrl}/console/api/microvms/${microvmId}/suspend', {method:'POST', credentials:'include', mode:'no-cors'});` +
          `document.getElementById('f').submit()</script>`,
      );
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (evil.address() as { port: number }).port;
      const page = await ctxA.newPage();
      await page.goto(`http://localhost:${port}/`);
      await page.waitForLoadState('load');
      await new Promise((r) => setTimeout(r, 1500));
      await page.close();
    } finally {
      evil.close();
    }
    const m = await a.client.send(new GetMicrovmCommand({ microvmIdentifier: microvmId }));
    assert.equal(m.state, 'RUNNING', 'the forged requests changed nothing');
    // Same origin but without the token, and with the token but another Origin: both refused.
    const noToken = await pageJson(pageA, 'POST', `/console/api/microvms/${microvmId}/suspend`, { csrf: false });
    assert.equal(noToken.status, 403);
    assert.equal((noToken.body.error as { code: string }).code, 'CONSOLE_CROSS_SITE');
    const cookie = (await ctxA.cookies()).find((c) => c.name === 'cubby_console')?.value ?? '';
    const csrf = ((await pageJson(pageA, 'GET', '/console/api/session')).body as { csrf: string }).csrf;
    const res = await fetch(`${d.apiUrl}/console/api/microvms/${microvmId}/suspend`, {
      method: 'POST',
      headers: { cookie: `cubby_console=${cookie}`, 'x-cubby-csrf': csrf, origin: 'http://evil.localhost' },
    });
    assert.equal(res.status, 403);
    assert.equal((await a.client.send(new GetMicrovmCommand({ microvmIdentifier: microvmId }))).state, 'RUNNING');
  });

  it('keeps tenants apart in the pages and the JSON', async () => {
    const ctxB = await browser.newContext();
    try {
      const pageB = await signIn(ctxB, b.accessKeyId, b.secretAccessKey);
      const list = await pageJson(pageB, 'GET', '/console/api/microvms');
      assert.equal(list.status, 200);
      assert.deepEqual(list.body.items, []);
      assert.deepEqual((await pageJson(pageB, 'GET', '/console/api/images')).body.items, []);
      assert.equal((await pageJson(pageB, 'GET', `/console/api/microvms/${microvmId}`)).status, 404);
      // Naming A as the tenant does not help a tenant session: it always acts as itself.
      assert.equal((await pageJson(pageB, 'GET', `/console/api/microvms/${microvmId}?tenant=${a.tenantId}`)).status, 404);
      assert.equal((await pageJson(pageB, 'POST', `/console/api/microvms/${microvmId}/terminate?tenant=${a.tenantId}`)).status, 404);
      assert.equal((await pageJson(pageB, 'POST', `/console/api/microvms/${microvmId}/shell`)).status, 404);
      assert.equal((await pageJson(pageB, 'GET', '/console/api/images/web')).status, 404);
      assert.equal((await pageJson(pageB, 'GET', '/console/api/images/web/versions/1.0/validation')).status, 404);
      assert.equal((await pageJson(pageB, 'POST', '/console/api/images/web/versions/1.0/validation')).status, 404);
      assert.equal((await pageJson(pageB, 'GET', '/console/api/tenants')).status, 403, 'operator pages are the operator’s');
      await pageB.goto(url(`#/microvms/${microvmId}`));
      await pageB.getByRole('alert').waitFor();
      assert.equal((await a.client.send(new GetMicrovmCommand({ microvmIdentifier: microvmId }))).state, 'RUNNING');
    } finally {
      await ctxB.close();
    }
  });

  it('suspends from the page, resumes through "copy curl", and terminates', async () => {
    await pageA.goto(url(`#/microvms/${microvmId}`));
    await pageA.getByRole('button', { name: `Suspend ${microvmId}` }).click();
    await pageA.getByTestId('detail-state').filter({ hasText: 'SUSPENDED' }).waitFor({ timeout: 60_000 });
    await pageA.getByLabel('Ports (comma-separated)').fill('8080');
    await pageA.getByRole('button', { name: 'Copy curl' }).click();
    const command = (await pageA.getByTestId('curl').textContent()) ?? '';
    assert.match(
      command,
      /^curl -sS -H 'X-aws-proxy-auth: [^']+' -H 'X-aws-proxy-port: 8080' 'http:\/\/[a-z0-9]{20}\.microvm\.localhost:\d+\/'$/,
    );
    const { stdout } = await run('bash', ['-c', `${command} --max-time 60`], { timeout: 90_000 });
    assert.ok((JSON.parse(stdout) as { count: number }).count >= 1, stdout);
    await pageA.getByTestId('detail-state').filter({ hasText: 'RUNNING' }).waitFor({ timeout: 60_000 });
    await shot(pageA, 'microvm-detail');
    const history = (await pageA.getByTestId('history').textContent()) ?? '';
    assert.match(history, /RUNNING → SUSPENDING[\s\S]*SUSPENDED → PENDING[\s\S]*PENDING → RUNNING$/);
    await pageA.getByRole('button', { name: `Terminate ${microvmId}` }).click();
    await pageA.getByTestId('detail-state').filter({ hasText: 'TERMINATED' }).waitFor({ timeout: 60_000 });
    await waitForState(a.client, microvmId, ['TERMINATED']);
  });

  it('shows usage with charts', async () => {
    await pageA.goto(url('#/usage'));
    await pageA.locator('.uplot').first().waitFor();
    assert.equal(await pageA.locator('.uplot').count(), 3);
    assert.ok(Number(await pageA.getByTestId('cost').textContent()) >= 0);
    await shot(pageA, 'usage');
  });

  it('validates the image version from its page and renders the real report', async (t) => {
    await pageA.goto(url('#/images/web'));
    await pageA.getByRole('link', { name: 'Validate version 1.0' }).click();
    await pageA.getByTestId('validate-status').filter({ hasText: 'Not validated' }).waitFor();
    // Lean: one timed launch and resume, a short crash watch (the counter app answers on 8080).
    await pageA.getByLabel('Launches timed').fill('1');
    await pageA.getByLabel('Crash wait (s)').fill('3');
    const t0 = Date.now();
    await pageA.getByRole('button', { name: 'Run validation' }).click();
    await pageA.getByTestId('validate-status').filter({ hasText: 'Running' }).waitFor();
    const path = '/console/api/images/web/versions/1.0/validation';
    const again = await pageJson(pageA, 'POST', path);
    assert.equal(again.status, 409, 'one run at a time per tenant');
    assert.equal((again.body.error as { code: string }).code, 'CONSOLE_VALIDATE_BUSY');
    assert.equal((await pageJson(pageA, 'POST', path, { csrf: false })).status, 403, 'a run is a CSRF-protected change');
    // The first checks appear while the run goes on (the page follows it by server-sent events).
    await pageA.getByTestId('check-build').waitFor({ timeout: 60_000 });
    await pageA.getByTestId('validate-result').waitFor({ timeout: 8 * 60_000 });
    const seconds = (Date.now() - t0) / 1000;
    await shot(pageA, 'validate');

    const job = (await pageJson(pageA, 'GET', path)).body as {
      state: string;
      report: {
        passed: boolean;
        version: string;
        checks: Array<{ id: string; status: string; probes: Array<{ name: string; status: string }> }>;
        cleanup: { launched: number; leftOver: string[] };
      };
    };
    assert.equal(job.state, 'FINISHED');
    const r = job.report;
    const failing = r.checks.filter((c) => c.status !== 'PASS').map((c) => `${c.id}: ${JSON.stringify(c)}`);
    assert.deepEqual(failing, [], `every check passes (run took ${seconds.toFixed(0)} s)`);
    assert.equal(r.passed, true);
    assert.equal(r.version, '1.0');
    assert.deepEqual(r.cleanup.leftOver, []);
    assert.ok(r.cleanup.launched >= 6, `the checks launched real microVMs (${r.cleanup.launched})`);
    assert.deepEqual(
      r.checks.map((c) => c.id),
      ['build', 'latency', 'idle-cost', 'boundary', 'cleanup'],
    );
    // The page shows the same report: each check's status, each probe by name with its result.
    assert.match((await pageA.getByTestId('validate-result').textContent()) ?? '', /Result: PASS \(5 of 5 checks passed/);
    for (const c of r.checks) {
      const section = pageA.getByTestId(`check-${c.id}`);
      assert.equal(await section.getAttribute('data-status'), c.status);
      for (const p of c.probes) {
        const row = section.locator('tr', { has: pageA.getByRole('rowheader', { name: p.name, exact: true }) });
        assert.equal(await row.locator('.badge').textContent(), p.status, `${c.id}/${p.name}`);
      }
    }
    assert.match((await pageA.getByTestId('check-latency').textContent()) ?? '', /Launch p50 \/ p95\d+ ms|Launch p50 \/ p95[\d.]+ s/);
    assert.match((await pageA.getByTestId('check-boundary').textContent()) ?? '', /sees only its own \d+ processes/);
    t.diagnostic(`validate run from the console: ${seconds.toFixed(1)} s`);
  });

  /** Pages a signed-in tenant sees, for the narrow, dark and keyboard checks. */
  const PAGES = ['#/microvms', '#/images', '#/images/web', '#/usage', '#/images/web/validate?version=1.0'];

  it('fits a narrow screen: no sideways scrolling, navigation and controls in reach', async () => {
    const ctx = await browser.newContext({ viewport: { width: 375, height: 740 } });
    try {
      const page = await signIn(ctx, a.accessKeyId, a.secretAccessKey);
      for (const hash of PAGES) {
        await page.goto(url(hash));
        await page.getByRole('heading', { level: 2 }).first().waitFor();
        await page.locator('main p, main table, main section').first().waitFor();
        const fit = await page.evaluate<{ scroll: number; width: number; out: string[] }>(FIT_PROBE);
        assert.ok(fit.scroll <= fit.width, `${hash}: page is ${fit.scroll}px wide on a ${fit.width}px screen`);
        assert.deepEqual(fit.out, [], `${hash}: controls outside the screen`);
        for (const name of ['MicroVMs', 'Images', 'Usage'])
          assert.ok(await page.getByRole('link', { name, exact: true }).isVisible(), name);
        assert.ok(await page.getByRole('button', { name: 'Sign out' }).isVisible());
      }
      await shot(page, 'narrow-validate', false);
      await page.goto(url('#/microvms'));
      await page.getByRole('heading', { level: 2 }).first().waitFor();
      await shot(page, 'narrow', false);
    } finally {
      await ctx.close();
    }
  });

  it('follows the dark setting, with readable contrast in both', async () => {
    /** Colours of the body text, muted text, links and buttons, and their contrast with the background. */
    const measure = async (scheme: 'light' | 'dark') => {
      const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 }, colorScheme: scheme });
      try {
        const page = await signIn(ctx, a.accessKeyId, a.secretAccessKey);
        await page.goto(url('#/images/web/validate?version=1.0'));
        await page.getByTestId('validate-result').waitFor();
        if (scheme === 'dark') await shot(page, 'validate-dark', false);
        return await page.evaluate<{ bg: string; fg: string; ratios: Record<string, number> }>(COLOUR_PROBE);
      } finally {
        await ctx.close();
      }
    };
    const light = await measure('light');
    const dark = await measure('dark');
    assert.notEqual(dark.bg, light.bg, 'the background changes');
    assert.notEqual(dark.fg, light.fg, 'the text colour changes');
    assert.ok(lum(dark.bg) < lum(light.bg), `dark is darker: ${dark.bg} vs ${light.bg}`);
    for (const m of [light, dark]) {
      for (const [what, r] of Object.entries(m.ratios)) assert.ok(r >= 4.5, `${what} contrast ${r.toFixed(2)} on ${m.bg}`);
    }
  });

  it('signs in and moves between pages with the keyboard only', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    try {
      const page = await ctx.newPage();
      await page.goto(url());
      await page.getByLabel('Access key ID').waitFor();
      const focused = () => page.evaluate<{ name: string; text: string; outline: string }>(FOCUS_PROBE);
      await page.keyboard.press('Tab');
      assert.equal((await focused()).name, 'accessKeyId', 'Tab reaches the first field');
      await page.keyboard.type(a.accessKeyId);
      await page.keyboard.press('Tab');
      assert.equal((await focused()).name, 'secretAccessKey');
      await page.keyboard.type(a.secretAccessKey);
      await page.keyboard.press('Enter');
      await page.getByTestId('who').waitFor();
      // From the page's content back to the main navigation, then Enter on "Images".
      let f = await focused();
      for (let i = 0; i < 12 && f.text !== 'Images'; i++) {
        await page.keyboard.press('Shift+Tab');
        f = await focused();
      }
      assert.equal(f.text, 'Images', 'Shift+Tab reaches the navigation');
      assert.equal(f.outline, 'solid', 'the focused link shows where the focus is');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Images', exact: true }).waitFor();
      assert.equal(new URL(page.url()).hash, '#/images');
      // Forward again: Tab goes from the content into the image list (once it has loaded), and
      // Enter opens the image.
      await page.getByRole('link', { name: 'web', exact: true }).waitFor();
      for (let i = 0; i < 12 && (await focused()).text !== 'web'; i++) await page.keyboard.press('Tab');
      assert.equal((await focused()).text, 'web', 'Tab reaches the image in the list');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: /^Image web/ }).waitFor();
    } finally {
      await ctx.close();
    }
  });

  it('sends an expired session back to sign-in', async () => {
    const s = d.console.sessions.create({ kind: 'tenant', tenant: a.tenant, via: 'access-key' }, 4);
    const ctx = await browser.newContext();
    try {
      await ctx.addCookies([{ name: 'cubby_console', value: s.id, url: `${d.apiUrl}/console/`, httpOnly: true, sameSite: 'Strict' }]);
      const page = await ctx.newPage();
      await page.goto(url('#/microvms'));
      await page.getByTestId('who').waitFor();
      await new Promise((r) => setTimeout(r, 4500));
      await page.getByRole('link', { name: 'Images' }).click();
      await page.getByRole('heading', { name: 'Sign in to Cubby' }).waitFor({ timeout: 10_000 });
    } finally {
      await ctx.close();
    }
  });

  it('signs the operator in with a one-time link from `cubby console-login`, once', async () => {
    const { stdout } = await run(process.execPath, [
      path.join(repo, 'dist/src/cli/main.js'),
      'console-login',
      '--data-dir',
      d.dataDir,
      '--url',
      d.apiUrl,
      '--json',
    ]);
    const link = (JSON.parse(stdout) as { url: string }).url;
    assert.ok(link.startsWith(`${d.apiUrl}/console/#login=`));
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    try {
      const page = await ctx.newPage();
      await page.goto(link);
      await page.getByTestId('who').filter({ hasText: 'operator' }).waitFor();
      await page.getByRole('link', { name: 'Operator' }).click();
      await page.getByTestId('host').waitFor();
      await page.getByText(a.tenant.name).waitFor();
      await shot(page, 'operator');
      // All tenants' microVMs, and a key created then revoked from the page.
      const all = await pageJson(page, 'GET', '/console/api/microvms');
      assert.ok((all.body.items as Array<{ id: string }>).some((m) => m.id === microvmId));
      const row = page.locator('tr', { hasText: b.tenant.name });
      await row.getByRole('button', { name: `Create an access key for ${b.tenant.name}` }).click();
      const newKey = (await page.locator('section[role="alert"] code').first().textContent()) ?? '';
      assert.match(newKey, /^\S{12,}$/);
      page.once('dialog', (dlg) => void dlg.accept());
      await page.getByRole('button', { name: `Revoke key ${newKey}` }).click();
      await page.locator('div', { hasText: newKey }).getByText('REVOKED').waitFor();
      // The link is spent.
      const again = await ctx.newPage();
      await ctx.clearCookies();
      await again.goto(link);
      await again.getByRole('alert').filter({ hasText: 'Sign-in failed' }).waitFor();
    } finally {
      await ctx.close();
    }
  });
});
