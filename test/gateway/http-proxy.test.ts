// The upstream "apps" are real node servers on 127.0.0.1 standing in for sandboxes: the gateway
// is target-agnostic (it only sees an address and a port), so this is the code path a sandbox gets.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { KeyRing } from '../../src/gateway/key-ring.js';
import { promGatewayMetrics } from '../../src/gateway/metrics.js';
import { MemoryTokenKeyStore } from '../../src/gateway/token-key-store.js';
import { TokenService } from '../../src/gateway/tokens.js';
import { call } from './support/client.js';
import { DOMAIN, rig } from './support/setup.js';
import { startUpstream } from './support/upstream.js';

test('a valid token passes; the app sees no x-aws-proxy-* header and gets X-Forwarded-*', async (t) => {
  const r = await rig(t);
  const res = await call(r.port, {
    host: `${r.host()}:${r.port}`,
    path: '/echo?q=1',
    headers: {
      'x-aws-proxy-auth': r.token(),
      'x-aws-proxy-port': String(r.app.port),
      'x-aws-proxy-other': 'x',
      'x-custom': 'kept',
      'x-forwarded-for': '6.6.6.6',
    },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers['x-app'], 'yes');
  const seen = res.json<{ url: string; headers: Record<string, string> }>();
  assert.equal(seen.url, '/echo?q=1');
  assert.deepEqual(
    Object.keys(seen.headers).filter((h) => h.startsWith('x-aws-proxy')),
    [],
  );
  assert.equal(seen.headers['x-custom'], 'kept');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-host'], `${r.host()}:${r.port}`);
  assert.equal(seen.headers['host'], `${r.host()}:${r.port}`);
});

test('missing, expired, tampered and other-microVM tokens get 401 and never reach the app', async (t) => {
  const r = await rig(t);
  const clock = { now: Date.now() - 10 * 60_000 };
  const past = new TokenService(r.tokens.ring, { now: () => clock.now });
  const expired = past.mint('vm1', 't1', 'all', 1, 'endpoint').token;
  const good = r.token();
  const tampered = good.slice(0, -3) + (good.at(-3) === 'a' ? 'b' : 'a') + good.slice(-2);
  const foreignRing = await KeyRing.open({ store: new MemoryTokenKeyStore() });
  const foreign = new TokenService(foreignRing).mint('vm1', 't1', 'all', 5, 'endpoint').token;
  r.targets.add('vm2');
  r.targets.add('vm3', { tenantId: 't2' });
  const cases: Array<[string, string | undefined, string]> = [
    ['missing', undefined, 'vm1'],
    ['expired', expired, 'vm1'],
    ['tampered', tampered, 'vm1'],
    ['signed by another key', foreign, 'vm1'],
    ['for another microVM', good, 'vm2'],
    ['shell token on the endpoint', r.token({ kind: 'shell' }), 'vm1'],
    ["minted for another tenant than the microVM's", r.token({ id: 'vm3' }), 'vm3'],
    // A bad token learns nothing: a microVM that does not exist answers exactly the same.
    ['for a microVM that does not exist', good, 'nosuchvm'],
    ['missing, microVM does not exist', undefined, 'nosuchvm'],
  ];
  for (const [what, token, id] of cases) {
    const res = await call(r.port, { host: r.host(id), headers: token ? { 'x-aws-proxy-auth': token } : {} });
    assert.equal(res.status, 401, what);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(typeof res.json().message, 'string', what);
  }
  assert.equal(r.app.hits.length, 0, 'the app was never hit');
  // With a valid token an unknown microVM is a 404.
  const res = await call(r.port, { host: r.host('nosuchvm'), headers: { 'x-aws-proxy-auth': r.token({ id: 'nosuchvm' }) } });
  assert.equal(res.status, 404);
  assert.equal(r.app.hits.length, 0);
});

test('a port the token does not allow is 403; X-aws-proxy-port selects an allowed port', async (t) => {
  const r = await rig(t);
  const second = await startUpstream();
  t.after(() => second.close());
  const onlyFirst = r.token();
  const denied = await call(r.port, {
    host: r.host(),
    headers: { 'x-aws-proxy-auth': onlyFirst, 'x-aws-proxy-port': String(second.port) },
  });
  assert.equal(denied.status, 403);
  assert.equal(second.hits.length, 0);
  const both = r.token({ ports: [{ from: Math.min(r.app.port, second.port), to: Math.max(r.app.port, second.port) }] });
  const a = await call(r.port, { host: r.host(), headers: { 'x-aws-proxy-auth': both } });
  const b = await call(r.port, { host: r.host(), headers: { 'x-aws-proxy-auth': both, 'x-aws-proxy-port': String(second.port) } });
  assert.equal(a.json().port, r.app.port, 'default port without the header');
  assert.equal(b.json().port, second.port, 'the header picks the port');
  const bad = await call(r.port, { host: r.host(), headers: { 'x-aws-proxy-auth': both, 'x-aws-proxy-port': 'http' } });
  assert.equal(bad.status, 400);
});

test('unknown hosts are 404 and an app that refuses connections is a 502 with a reason', async (t) => {
  const r = await rig(t);
  assert.equal((await call(r.port, { host: 'example.org' })).status, 404);
  assert.equal((await call(r.port, { host: `a.b.${DOMAIN}` })).status, 404);
  const closed = await startUpstream();
  const deadPort = closed.port;
  await closed.close();
  const res = await call(r.port, {
    host: r.host(),
    headers: { 'x-aws-proxy-auth': r.token({ ports: 'all' }), 'x-aws-proxy-port': String(deadPort) },
  });
  assert.equal(res.status, 502);
  assert.match(String(res.json().reason), /refused/);
});

test('keep-alive: sequential requests share one connection to the app', async (t) => {
  const r = await rig(t);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  for (let i = 0; i < 10; i++) {
    const res = await call(r.port, { host: r.host(), headers: { 'x-aws-proxy-auth': r.token() }, agent });
    assert.equal(res.status, 200);
  }
  assert.equal(r.app.hits.length, 10);
  assert.equal(r.app.connections, 1, 'one upstream connection for ten requests');
});

/** Reads a streamed response, noting when each chunk arrived. */
function streamed(port: number, host: string, path: string, token: string) {
  return new Promise<{ status: number; type: string | undefined; chunks: Array<{ at: number; text: string }>; end: number }>(
    (resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers: { host, 'x-aws-proxy-auth': token }, agent: false }, (res) => {
        const chunks: Array<{ at: number; text: string }> = [];
        res.on('data', (c: Buffer) => chunks.push({ at: Date.now(), text: c.toString() }));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], chunks, end: Date.now() }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    },
  );
}

test('chunked and SSE responses stream through event by event', async (t) => {
  // Pooled idle connections time out quickly here; a quiet stream must not be cut by that.
  const r = await rig(t, { upstreamIdleTimeoutMs: 50 });
  const paths = ['/sse?n=4&gapMs=150', '/chunked?n=4&gapMs=150'];
  const results = await Promise.all(paths.map((p) => streamed(r.port, r.host(), p, r.token())));
  for (const [i, path] of paths.entries()) {
    const res = results[i]!;
    assert.equal(res.status, 200);
    const text = res.chunks.map((c) => c.text).join('');
    assert.equal(text.split(path.startsWith('/sse') ? 'data: event' : 'chunk').length - 1, 4, text);
    const first = res.chunks[0];
    assert.ok(first && res.end - first.at >= 350, `first chunk ${res.end - (first?.at ?? 0)} ms before the end: not buffered`);
    assert.ok(res.chunks.length >= 4, 'arrived as separate chunks');
  }
});

test('50 MB up and 50 MB down arrive intact', async (t) => {
  const r = await rig(t);
  const MB = 1024 * 1024;
  const block = randomBytes(MB);
  const hash = createHash('sha256');
  let sent = 0;
  // A streamed (chunked) upload, produced as the socket drains.
  const body = new Readable({
    read() {
      if (sent === 50) {
        this.push(null);
        return;
      }
      const chunk = Buffer.from(block);
      chunk.writeUInt32BE(sent, 0);
      hash.update(chunk);
      sent += 1;
      this.push(chunk);
    },
  });
  const up = await call(r.port, {
    host: r.host(),
    path: '/upload',
    method: 'POST',
    body,
    headers: { 'x-aws-proxy-auth': r.token() },
    timeoutMs: 60_000,
  });
  assert.equal(up.status, 200);
  assert.deepEqual(up.json(), { bytes: 50 * MB, sha256: hash.digest('hex') });

  const down = await call(r.port, {
    host: r.host(),
    path: '/download?mb=50',
    headers: { 'x-aws-proxy-auth': r.token() },
    timeoutMs: 60_000,
  });
  assert.equal(down.status, 200);
  assert.equal(down.body.length, 50 * MB);
  assert.equal(createHash('sha256').update(down.body).digest('hex'), r.app.lastDownloadSha);
});

test('E2B host names <port>-<id>.<domain> and E2b-Sandbox-* headers route to that port', async (t) => {
  const r = await rig(t);
  const second = await startUpstream();
  t.after(() => second.close());
  const token = r.token({ ports: 'all' });
  const viaHost = await call(r.port, { host: `${second.port}-vm1.${DOMAIN}`, headers: { 'x-aws-proxy-auth': token } });
  assert.equal(viaHost.status, 200);
  assert.equal(viaHost.json().port, second.port);
  const viaHeaders = await call(r.port, {
    host: `${DOMAIN}:${r.port}`,
    headers: { 'x-aws-proxy-auth': token, 'e2b-sandbox-id': 'vm1', 'e2b-sandbox-port': String(second.port) },
  });
  assert.equal(viaHeaders.status, 200);
  assert.equal(viaHeaders.json().port, second.port);
  // E2B clients get E2B-shaped errors: {code: <status>, message}.
  const refused = await call(r.port, { host: `${second.port}-vm1.${DOMAIN}` });
  assert.equal(refused.status, 401);
  assert.equal(refused.json().code, 401);
  assert.equal((await call(r.port, { host: DOMAIN, headers: { 'e2b-sandbox-id': 'vm1' } })).status, 400, 'port header required');
  assert.equal((await call(r.port, { host: DOMAIN })).status, 404, 'bare domain without headers');
});

test('metrics count answers by status and observe the added latency', async (t) => {
  const registry = new Registry();
  const r = await rig(t, { metrics: promGatewayMetrics(registry) });
  await call(r.port, { host: r.host(), headers: { 'x-aws-proxy-auth': r.token() } });
  await call(r.port, { host: r.host(), headers: { 'x-aws-proxy-auth': r.token() } });
  await call(r.port, { host: r.host() });
  await new Promise((res) => setTimeout(res, 20)); // counters move when the response closes
  const text = await registry.metrics();
  assert.match(text, /cubby_gateway_requests_total\{kind="http",status="200"\} 2/);
  assert.match(text, /cubby_gateway_requests_total\{kind="http",status="401"\} 1/);
  assert.match(text, /cubby_gateway_added_latency_seconds_count 2/);
});
