// Pre-connecting to a microVM's app at launch (Gateway.preconnect): the first request rides the
// connection opened ahead of it, only for that microVM, never after an evict, and a connection the
// app dropped meanwhile never fails a request that may be retried. The "app" is a real node server
// on 127.0.0.1 that records which TCP connection carried each request.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { call } from './support/client.js';
import { rig } from './support/setup.js';

interface App {
  port: number;
  /** Accepted connections, in order. */
  sockets: Socket[];
  /** For each request: the index of the connection that carried it. */
  carried: number[];
  /** Called with each accepted connection's index; may destroy it. */
  onConnection?: (s: Socket, i: number) => void;
  /** Called before answering; true: the request was handled (e.g. the socket destroyed). */
  onRequest?: (req: IncomingMessage, res: ServerResponse, i: number) => boolean;
}

async function startApp(t: TestContext): Promise<App> {
  const app: App = { port: 0, sockets: [], carried: [] };
  const server = createServer((req, res) => {
    const i = app.sockets.indexOf(req.socket);
    if (app.onRequest?.(req, res, i)) return;
    app.carried.push(i);
    req.resume();
    req.on('end', () => res.end(JSON.stringify({ connection: i })));
  });
  server.on('connection', (s: Socket) => {
    app.sockets.push(s);
    app.onConnection?.(s, app.sockets.length - 1);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  app.port = (server.address() as AddressInfo).port;
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return app;
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('the first request rides the pre-connected connection; another microVM at the same address never does', async (t) => {
  const app = await startApp(t);
  const r = await rig(t, { defaultPort: app.port });
  r.targets.add('vm2');
  r.gw.preconnect('vm1', '127.0.0.1');
  await until('the pre-connect', () => app.sockets.length === 1);

  // vm2 has the same address and port: it must open its own connection, not take vm1's.
  const other = await call(r.port, {
    host: r.host('vm2'),
    path: '/',
    headers: { 'x-aws-proxy-auth': r.token({ id: 'vm2', ports: 'all' }) },
  });
  assert.equal(other.status, 200);
  assert.equal(app.sockets.length, 2);
  assert.deepEqual(app.carried, [1]);

  const first = await call(r.port, { host: r.host('vm1'), path: '/', headers: { 'x-aws-proxy-auth': r.token({ ports: 'all' }) } });
  assert.equal(first.status, 200);
  assert.equal(app.sockets.length, 2, 'no new connection for vm1');
  assert.deepEqual(app.carried, [1, 0], "vm1's first request came on the pre-connected connection");
});

test('an evict closes the pre-connected connection; the next request opens its own', async (t) => {
  const app = await startApp(t);
  const r = await rig(t, { defaultPort: app.port });
  r.gw.preconnect('vm1', '127.0.0.1');
  await until('the pre-connect', () => app.sockets.length === 1);
  r.gw.evict('vm1'); // what the daemon does when the microVM leaves RUNNING
  await until('the app to see it closed', () => app.sockets[0]?.destroyed === true || app.sockets[0]?.readableEnded === true);
  const res = await call(r.port, { host: r.host('vm1'), path: '/', headers: { 'x-aws-proxy-auth': r.token({ ports: 'all' }) } });
  assert.equal(res.status, 200);
  assert.deepEqual(app.carried, [1]);
});

test('a pre-connected connection the app dropped never fails a GET; a POST on it gets a clear 502', async (t) => {
  const app = await startApp(t);
  const r = await rig(t, { defaultPort: app.port });
  const auth = { 'x-aws-proxy-auth': r.token({ ports: 'all' }) };

  // Closed by the app before the request: the gateway notices and connects afresh.
  app.onConnection = (s, i) => {
    if (i === 0) s.destroy();
  };
  r.gw.preconnect('vm1', '127.0.0.1');
  await until('the pre-connect', () => app.sockets.length === 1);
  await new Promise((res) => setTimeout(res, 50));
  const a = await call(r.port, { host: r.host('vm1'), path: '/', headers: auth });
  assert.equal(a.status, 200);
  assert.deepEqual(app.carried, [1]);

  // Reset by the app as the request arrives (a stale connection): the GET is sent again on a fresh one.
  r.gw.evict('vm1');
  app.onConnection = undefined;
  app.onRequest = (req, _res, i) => {
    if (i !== 2) return false;
    req.socket.resetAndDestroy();
    return true;
  };
  r.gw.preconnect('vm1', '127.0.0.1');
  await until('the second pre-connect', () => app.sockets.length === 3);
  const b = await call(r.port, { host: r.host('vm1'), path: '/', headers: auth });
  assert.equal(b.status, 200);
  assert.deepEqual(app.carried, [1, 3], 'answered on a fresh connection after the reset');

  // A POST is not sent twice (the app may have acted on it): a clear upstream error instead.
  r.gw.evict('vm1');
  app.onRequest = (req, _res, i) => {
    if (i !== 4) return false;
    req.socket.resetAndDestroy();
    return true;
  };
  r.gw.preconnect('vm1', '127.0.0.1');
  await until('the third pre-connect', () => app.sockets.length === 5);
  const c = await call(r.port, { host: r.host('vm1'), path: '/', method: 'POST', body: 'x', headers: auth });
  assert.equal(c.status, 502);
  assert.match(c.json<{ message: string }>().message, /not reachable on port \d+: connection reset/);
  assert.deepEqual(app.carried, [1, 3], 'the POST was not replayed');
});
