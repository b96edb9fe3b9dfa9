// CDP through the gateway against a stand-in DevTools server that behaves as Chromium's does: it
// refuses a Host that is not an IP or localhost, and builds its WebSocket URLs from the Host.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { rewriteDiscovery } from '../../src/gateway/cdp.js';
import { rig } from './support/setup.js';

interface DevTools {
  port: number;
  hosts: string[];
  forwardedHosts: string[];
}

async function devTools(t: TestContext): Promise<DevTools> {
  const seen: DevTools = { port: 0, hosts: [], forwardedHosts: [] };
  const safe = (host: string | undefined) => !host || /^(localhost|127\.0\.0\.1)(:\d+)?$/.test(host);
  const server = http.createServer((req, res) => {
    seen.hosts.push(req.headers.host ?? '');
    seen.forwardedHosts.push(String(req.headers['x-forwarded-host'] ?? ''));
    if (!safe(req.headers.host)) {
      res.writeHead(500).end('Host header is specified and is not an IP address or localhost.');
      return;
    }
    const ws = `ws://${req.headers.host}/devtools`;
    const body =
      req.url === '/json/version/' || req.url === '/json/version'
        ? { Browser: 'Chrome/1', webSocketDebuggerUrl: `${ws}/browser/b1` }
        : req.url === '/json/list'
          ? [
              {
                id: 'p1',
                devtoolsFrontendUrl: `/devtools/inspector.html?ws=${req.headers.host}/devtools/page/p1`,
                webSocketDebuggerUrl: `${ws}/page/p1`,
              },
            ]
          : { other: `${ws}/not-rewritten`, webSocketDebuggerUrl: 'ws://elsewhere:1/x' };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    seen.hosts.push(req.headers.host ?? '');
    if (!safe(req.headers.host)) {
      socket.end('HTTP/1.1 500 Internal Server Error\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m: Buffer) => ws.send(`${req.url} ${m.toString()}`)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const c of wss.clients) c.terminate();
    server.closeAllConnections();
    server.close();
  });
  seen.port = (server.address() as AddressInfo).port;
  return seen;
}

function get(gwPort: number, host: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: gwPort, path, headers: { host, ...headers }, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

test('CDP discovery and its WebSocket pass the gateway: the app sees localhost, the client gets the endpoint URL', async (t) => {
  const dt = await devTools(t);
  const r = await rig(t, { defaultPort: dt.port });
  const token = r.token({ ports: [{ from: dt.port, to: dt.port }] });
  const host = `${r.host()}:${r.port}`;
  const auth = { 'x-aws-proxy-auth': token };

  const version = await get(r.port, host, '/json/version/', auth);
  assert.equal(version.status, 200, version.body);
  const url = (JSON.parse(version.body) as { webSocketDebuggerUrl: string }).webSocketDebuggerUrl;
  assert.equal(url, `ws://${host}/devtools/browser/b1`, 'the WebSocket URL leads back through the endpoint');
  assert.equal(dt.hosts.at(-1), `localhost:${dt.port}`, 'the DevTools server gets a Host it accepts');
  assert.equal(dt.forwardedHosts.at(-1), host, 'the endpoint name still reaches the app');

  const list = JSON.parse((await get(r.port, host, '/json/list', auth)).body) as Array<Record<string, string>>;
  assert.equal(list[0]?.webSocketDebuggerUrl, `ws://${host}/devtools/page/p1`);
  assert.equal(list[0]?.devtoolsFrontendUrl, `/devtools/inspector.html?ws=${host}/devtools/page/p1`);

  // Another path of a /json-serving app: its body is not a discovery document and passes as is.
  const other = JSON.parse((await get(r.port, host, '/json/other', auth)).body) as Record<string, string>;
  assert.equal(other.webSocketDebuggerUrl, 'ws://elsewhere:1/x');

  // The client follows the URL it got (to 127.0.0.1 with the endpoint's Host), with its token.
  const ws = new WebSocket(url.replace(host, `127.0.0.1:${r.port}`), { headers: { host, ...auth } });
  t.after(() => ws.terminate());
  await once(ws, 'open');
  assert.equal(dt.hosts.at(-1), `localhost:${dt.port}`);
  ws.send('Browser.getVersion');
  const [reply] = (await once(ws, 'message')) as [Buffer];
  assert.equal(reply.toString(), '/devtools/browser/b1 Browser.getVersion');

  // Without a token nothing reaches the DevTools server.
  const before = dt.hosts.length;
  assert.equal((await get(r.port, host, '/json/version', {})).status, 401);
  assert.equal(dt.hosts.length, before);
});

test('rewriteDiscovery: only URLs naming the app itself change; TLS endpoints get wss', () => {
  const pub = { host: 'abc.cubby.test', scheme: 'wss' as const };
  const doc = JSON.stringify({ webSocketDebuggerUrl: 'ws://localhost:9222/devtools/browser/x' });
  assert.deepEqual(JSON.parse(rewriteDiscovery(doc, 9222, pub) ?? '{}'), {
    webSocketDebuggerUrl: 'wss://abc.cubby.test/devtools/browser/x',
  });
  assert.equal(rewriteDiscovery(doc, 9333, pub), undefined, 'another port is not the app');
  assert.equal(rewriteDiscovery('not json', 9222, pub), undefined);
  assert.equal(rewriteDiscovery(JSON.stringify({ webSocketDebuggerUrl: 'ws://evil:9222/x' }), 9222, pub), undefined);
});
