/** The E2B control plane in-process over the real core and fakes: wire shapes, auth, lifecycle, nothing recorded on refusal. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { E2B_TOKEN_AAD, e2bAccessOf, e2bFactsOf } from '../../../src/api/e2b/index.js';
import { eventually, readyImage } from '../../support/fakes/core.js';
import { DOMAIN, startE2bHarness, type E2bHarness } from './support/harness.js';

async function harness(t: { after(fn: () => Promise<void>): void }, over = {}): Promise<E2bHarness> {
  const h = await startE2bHarness(over);
  t.after(() => h.close());
  return h;
}

test('create answers the Sandbox shape; the sandbox is a microVM with sealed tokens; get and kill', async (t) => {
  const h = await harness(t);
  const r = await h.call('POST', '/v2/sandboxes', { templateID: 'app', metadata: { user: 'u1' }, envVars: { A: 'b' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const sb = r.body as Record<string, string>;
  assert.match(sb.sandboxID ?? '', /^[a-z0-9]{20}$/);
  assert.equal(sb.templateID, 'app');
  assert.equal(sb.envdVersion, '0.6.4');
  assert.equal(sb.domain, DOMAIN);
  assert.ok((sb.envdAccessToken ?? '').length >= 32);
  assert.equal(sb.trafficAccessToken, undefined, 'public traffic by default: no traffic token');

  // A microVM of tenant A, RUNNING, E2B's default 300 s timeout, the env vars in the run hook payload.
  const m = (await h.microvms()).find((x) => x.id === sb.sandboxID);
  assert.ok(m);
  assert.equal(m.state, 'RUNNING');
  assert.equal(m.maximumDurationSeconds, 300);
  assert.deepEqual(m.onMaximumDuration, { action: 'terminate', renewSeconds: 300 });
  assert.deepEqual(JSON.parse(m.runHookPayload ?? ''), { envVars: { A: 'b' } });
  assert.ok(!JSON.stringify(m.extra).includes(sb.envdAccessToken ?? 'x'), 'token sealed at rest');
  assert.deepEqual(
    e2bAccessOf(m.extra, (s) => h.world.store.openSecret(s, E2B_TOKEN_AAD)),
    {
      envdAccessToken: sb.envdAccessToken,
      allowPublicTraffic: true,
    },
  );
  const listed = await h.world.core.services.microvms.list(h.world.caller, {});
  assert.ok(
    listed.items.some((x) => x.id === sb.sandboxID),
    'ListMicrovms shows it',
  );

  const g = await h.call('GET', `/sandboxes/${sb.sandboxID}`);
  assert.equal(g.status, 200);
  assert.equal(g.body.state, 'running');
  assert.equal(g.body.envdAccessToken, sb.envdAccessToken);
  assert.deepEqual(g.body.metadata, { user: 'u1' });
  assert.equal(g.body.cpuCount, 1);
  assert.equal(g.body.memoryMB, 512);
  assert.equal(new Date(g.body.endAt).getTime() - new Date(g.body.startedAt).getTime(), 300_000);
  assert.deepEqual(g.body.lifecycle, { onTimeout: 'kill', autoResume: false });

  // Tenant B sees nothing of it.
  assert.deepEqual(await h.call('GET', `/sandboxes/${sb.sandboxID}`, undefined, h.keyB), {
    status: 404,
    body: { code: 404, message: `sandbox '${sb.sandboxID}' not found` },
    headers: (await h.call('GET', `/sandboxes/${sb.sandboxID}`, undefined, h.keyB)).headers,
  });
  assert.equal((await h.call('DELETE', `/sandboxes/${sb.sandboxID}`, undefined, h.keyB)).status, 404);
  assert.equal((await h.call('POST', `/sandboxes/${sb.sandboxID}/pause`, {}, h.keyB)).status, 404);

  assert.equal((await h.call('DELETE', `/sandboxes/${sb.sandboxID}`)).status, 204);
  assert.equal((await h.world.store.getMicrovmAny(sb.sandboxID ?? ''))?.state, 'TERMINATED');
  const again = await h.call('DELETE', `/sandboxes/${sb.sandboxID}`);
  assert.deepEqual(again.body, { code: 404, message: `sandbox '${sb.sandboxID}' not found` });
  assert.equal((await h.call('GET', `/sandboxes/${sb.sandboxID}`)).status, 404);
});

test('refusals answer E2B error shapes and record nothing', async (t) => {
  const h = await harness(t);
  const cases: Array<[string, Awaited<ReturnType<E2bHarness['call']>>, number, RegExp]> = [
    ['no key', await h.call('POST', '/v2/sandboxes', { templateID: 'app' }, null), 401, /X-API-KEY/],
    ['malformed key', await h.call('POST', '/v2/sandboxes', { templateID: 'app' }, 'nope'), 401, /Invalid API key/],
    ['unknown key', await h.call('POST', '/v2/sandboxes', { templateID: 'app' }, `e2b_${'a'.repeat(40)}`), 401, /Invalid API key/],
    ['malformed JSON', await h.call('POST', '/v2/sandboxes', '{"templateID": "app"'), 400, /not valid JSON/],
    ['not an object', await h.call('POST', '/sandboxes', '[1]'), 400, /JSON object/],
    ['no template', await h.call('POST', '/v2/sandboxes', {}), 400, /templateID is required/],
    ['unknown template', await h.call('POST', '/v2/sandboxes', { templateID: 'nope' }), 404, /template 'nope' not found/],
    ['base not built', await h.call('POST', '/v2/sandboxes', { templateID: 'base' }), 404, /template 'base' is not built yet/],
    ['bad timeout', await h.call('POST', '/v2/sandboxes', { templateID: 'app', timeout: -1 }), 400, /timeout/],
    [
      'volumes',
      await h.call('POST', '/v2/sandboxes', { templateID: 'app', volumeMounts: [{ name: 'v', path: '/v' }] }),
      400,
      /volumeMounts/,
    ],
    [
      'fs-only autoPause',
      await h.call('POST', '/v2/sandboxes', { templateID: 'app', autoPause: true, autoPauseMemory: false }),
      400,
      /filesystem/,
    ],
  ];
  for (const [what, r, status, message] of cases) {
    assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, status, what);
    assert.match(r.body.message, message, what);
    assert.deepEqual(Object.keys(r.body).sort(), ['code', 'message'], what);
  }
  assert.deepEqual(await h.microvms(), [], 'nothing recorded');

  // A revoked key stops working at once.
  assert.equal((await h.call('GET', '/v2/sandboxes', undefined, h.keyB)).status, 200);
  await h.world.store.revokeE2bKey(h.keyBId);
  assert.equal((await h.call('GET', '/v2/sandboxes', undefined, h.keyB)).status, 401);

  // The Lambda API on the same app still demands SigV4; an E2B key does not open it.
  const lambda = await fetch(`${h.url}/2025-09-09/microvms`, { headers: { 'x-api-key': h.keyA } });
  assert.equal(lambda.status, 403);
});

test('templates: by image id, and base once the tenant has an image named base (or the extension point says)', async (t) => {
  const h = await harness(t);
  const img = await h.world.core.services.images.get(h.world.caller, 'app');
  const byId = await h.call('POST', '/v2/sandboxes', { templateID: img.id });
  assert.equal(byId.status, 201, JSON.stringify(byId.body));
  assert.equal(byId.body.templateID, img.id);
  await readyImage(h.world, 'base');
  const base = await h.call('POST', '/v2/sandboxes', { templateID: 'base' });
  assert.equal(base.status, 201, JSON.stringify(base.body));
  const m = await h.world.store.getMicrovmAny(base.body.sandboxID);
  assert.equal(e2bFactsOf(m?.extra ?? {})?.imageName, 'base');

  const h2 = await harness(t, { ensureBaseTemplate: async () => 'app' });
  const viaHook = await h2.call('POST', '/v2/sandboxes', { templateID: 'base' });
  assert.equal(viaHook.status, 201, JSON.stringify(viaHook.body));
});

test('list: state and metadata filters, template, order and paging with x-next-token', async (t) => {
  const h = await harness(t);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await h.call('POST', '/v2/sandboxes', { templateID: 'app', metadata: { n: String(i), group: i % 2 ? 'odd' : 'even/&=' } });
    ids.push(r.body.sandboxID);
    await new Promise((res) => setTimeout(res, 3)); // distinct start times
  }
  await h.call('POST', '/v2/sandboxes', { templateID: 'app' }, h.keyB); // another tenant's: never listed
  assert.equal((await h.call('POST', `/sandboxes/${ids[0]}/pause`, {})).status, 204);

  const all = await h.call('GET', '/v2/sandboxes');
  assert.equal(all.status, 200);
  assert.deepEqual(
    all.body.map((s: { sandboxID: string }) => s.sandboxID),
    [...ids].reverse(),
    'newest first by default, running and paused',
  );
  assert.equal(all.headers.get('x-next-token'), null);
  assert.ok(!('envdAccessToken' in all.body[0]), 'no tokens in lists');

  const running = await h.call('GET', '/v2/sandboxes?state=running');
  assert.deepEqual(
    running.body.map((s: { sandboxID: string }) => s.sandboxID),
    ids.slice(1).reverse(),
  );
  const paused = await h.call('GET', '/v2/sandboxes?state=paused');
  assert.deepEqual(
    paused.body.map((s: { sandboxID: string; state: string }) => [s.sandboxID, s.state]),
    [[ids[0], 'paused']],
  );
  assert.equal((await h.call('GET', '/v2/sandboxes?state=running,paused')).body.length, 5);

  // The SDK's metadata form: each key and value URI-encoded, then the pairs as a query string.
  const meta = new URLSearchParams({ [encodeURIComponent('group')]: encodeURIComponent('even/&=') }).toString();
  const even = await h.call('GET', `/v2/sandboxes?metadata=${encodeURIComponent(meta)}&order=asc`);
  assert.deepEqual(
    even.body.map((s: { sandboxID: string }) => s.sandboxID),
    [ids[0], ids[2], ids[4]],
  );

  // Paging across pages keeps the order.
  const seen: string[] = [];
  let token: string | null = null;
  let pages = 0;
  do {
    const r: Awaited<ReturnType<E2bHarness['call']>> = await h.call(
      'GET',
      `/v2/sandboxes?order=asc&limit=2${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`,
    );
    assert.equal(r.status, 200);
    seen.push(...r.body.map((s: { sandboxID: string }) => s.sandboxID));
    token = r.headers.get('x-next-token');
    pages++;
  } while (token);
  assert.deepEqual(seen, ids);
  assert.equal(pages, 3);
  assert.equal((await h.call('GET', '/v2/sandboxes?nextToken=garbage')).status, 400);
  assert.equal((await h.call('GET', '/v2/sandboxes?template=nope')).body.length, 0);
  assert.equal((await h.call('GET', '/v2/sandboxes?template=app')).body.length, 5);
  assert.equal((await h.call('GET', '/v2/sandboxes?limit=0')).status, 400);
});

test('timeout, pause (409 when paused, 400 without memory) and connect (201 resumes, 200 only extends)', async (t) => {
  const h = await harness(t);
  const id = (await h.call('POST', '/v2/sandboxes', { templateID: 'app', timeout: 600 })).body.sandboxID as string;
  const get = async () => (await h.world.store.getMicrovmAny(id))!;
  const deadline = async () => (await get()).startedAt.getTime() + (await get()).maximumDurationSeconds * 1000;

  assert.equal((await h.call('POST', `/sandboxes/${id}/timeout`, { timeout: 30 })).status, 204);
  assert.ok(Math.abs((await deadline()) - (Date.now() + 30_000)) < 2000, 'timeout may shorten: endAt = now + 30 s');
  assert.equal((await h.call('POST', `/sandboxes/${id}/timeout`, {})).status, 400);

  const fsOnly = await h.call('POST', `/sandboxes/${id}/pause`, { memory: false });
  assert.equal(fsOnly.status, 400);
  assert.match(fsOnly.body.message, /memory: false/);
  assert.equal((await get()).state, 'RUNNING');

  assert.equal((await h.call('POST', `/sandboxes/${id}/pause`, { memory: true })).status, 204);
  assert.equal((await get()).state, 'SUSPENDED');
  assert.deepEqual((await h.call('POST', `/sandboxes/${id}/pause`, {})).body.code, 409);
  assert.equal((await h.call('GET', `/sandboxes/${id}`)).body.state, 'paused');

  const resumed = await h.call('POST', `/v2/sandboxes/${id}/connect`, { timeout: 120 });
  assert.equal(resumed.status, 201, JSON.stringify(resumed.body));
  assert.equal((await get()).state, 'RUNNING');
  assert.ok(Math.abs((await deadline()) - (Date.now() + 120_000)) < 2000);
  const token = (await h.call('GET', `/sandboxes/${id}`)).body.envdAccessToken;
  assert.equal(resumed.body.envdAccessToken, token, 'same envd token across pause');

  const shorter = await h.call('POST', `/sandboxes/${id}/connect`, { timeout: 10 });
  assert.equal(shorter.status, 200);
  assert.ok(Math.abs((await deadline()) - (Date.now() + 120_000)) < 2000, 'connect never shortens');
  assert.equal((await h.call('POST', `/v2/sandboxes/${id}/connect`, { timeout: 900 })).status, 200);
  assert.ok(Math.abs((await deadline()) - (Date.now() + 900_000)) < 2000, 'connect extends');
  assert.equal((await h.call('POST', `/v2/sandboxes/${id}/connect`, { memory: false })).status, 400);
  assert.equal((await h.call('POST', `/v2/sandboxes/nosuchsandbox0000000/connect`, {})).body.code, 404);
});

test('onTimeout: kill terminates at the deadline; pause suspends, waits while paused, and a resume renews it', async (t) => {
  const h = await harness(t);
  h.world.core.scheduler.start();
  const kill = (await h.call('POST', '/v2/sandboxes', { templateID: 'app', timeout: 1 })).body.sandboxID as string;
  const pause = (await h.call('POST', '/v2/sandboxes', { templateID: 'app', timeout: 1, autoPause: true, autoResume: { enabled: true } }))
    .body.sandboxID as string;
  await eventually(async () => (await h.world.store.getMicrovmAny(kill))?.state === 'TERMINATED', 'kill at timeout', 5000);
  await eventually(async () => (await h.world.store.getMicrovmAny(pause))?.state === 'SUSPENDED', 'pause at timeout', 5000);
  const p = (await h.world.store.getMicrovmAny(pause))!;
  assert.equal(p.idlePolicy?.autoResumeEnabled, true);
  assert.deepEqual((await h.call('GET', `/sandboxes/${pause}`)).body.lifecycle, { onTimeout: 'pause', autoResume: true });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await h.world.store.getMicrovmAny(pause))?.state, 'SUSPENDED', 'the deadline does not end a paused sandbox');
  // A resume (the gateway's auto-resume goes the same way) renews the deadline by the create timeout.
  await h.world.core.manager.ensureRunning(pause);
  const r = (await h.world.store.getMicrovmAny(pause))!;
  assert.equal(r.state, 'RUNNING');
  assert.ok(r.startedAt.getTime() + r.maximumDurationSeconds * 1000 >= Date.now() + 500);
  await eventually(async () => (await h.world.store.getMicrovmAny(pause))?.state === 'SUSPENDED', 'paused again', 5000);
});

test('metrics: one sample of a running sandbox, none for a paused one or an old window', async (t) => {
  const h = await harness(t);
  const id = (await h.call('POST', '/v2/sandboxes', { templateID: 'app' })).body.sandboxID as string;
  const r = await h.call('GET', `/sandboxes/${id}/metrics`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.length, 1);
  const s = r.body[0];
  assert.equal(s.cpuCount, 1);
  assert.equal(s.memTotal, 512 * 1024 * 1024);
  assert.equal(typeof s.memUsed, 'number');
  assert.ok(s.cpuUsedPct >= 0 && s.cpuUsedPct <= 100);
  assert.ok(Math.abs(new Date(s.timestamp).getTime() / 1000 - s.timestampUnix) < 1);
  const old = Math.floor(Date.now() / 1000) - 3600;
  assert.deepEqual((await h.call('GET', `/sandboxes/${id}/metrics?start=${old - 60}&end=${old}`)).body, []);
  await h.call('POST', `/sandboxes/${id}/pause`, {});
  assert.deepEqual((await h.call('GET', `/sandboxes/${id}/metrics`)).body, []);
  assert.equal((await h.call('GET', `/sandboxes/${id}/metrics`, undefined, h.keyB)).status, 404);
});
