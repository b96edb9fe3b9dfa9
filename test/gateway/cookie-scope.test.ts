// Cookie tossing through the real gateway: a real app on 127.0.0.1 sets cookies for the parent
// domain (and other hosts) on plain responses, WebSocket 101s and refused upgrades; the client
// must receive them confined to the microVM's own host, everything else intact.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { WebSocket } from 'ws';
import { call } from './support/client.js';
import { DOMAIN, rig } from './support/setup.js';

const OWN = `vm1.${DOMAIN}`;

/** What the app sends, as raw header pairs (odd casing kept on the wire). */
const APP_COOKIES = [
  'Set-Cookie',
  `sid=1; Domain=${DOMAIN}; Path=/; HttpOnly`,
  'SET-COOKIE',
  `wide=2; DOMAIN=.${DOMAIN.toUpperCase()}; Secure; SameSite=None; Partitioned`,
  'set-cookie',
  'far=3; domain=localhost; Max-Age=60',
  'Set-Cookie',
  `own=4; Domain=${OWN}; Expires=Wed, 21 Oct 2037 07:28:00 GMT`,
  'Set-Cookie',
  '__Host-h=5; Secure; Path=/; SameSite=Strict',
  'Set-Cookie',
  `__Secure-s=6; Secure; Domain=vm2.${DOMAIN}; Path=/`,
  'Set-Cookie',
  `q="x; Domain=${DOMAIN}"; Path=/`,
  'Set-Cookie',
  'm=7; Domain=; Domain; path=/p',
  'X-Note',
  `Domain=${DOMAIN}`,
];
const CLIENT_COOKIES = [
  'sid=1; Path=/; HttpOnly',
  'wide=2; Secure; SameSite=None; Partitioned',
  'far=3; Max-Age=60',
  `own=4; Domain=${OWN}; Expires=Wed, 21 Oct 2037 07:28:00 GMT`,
  '__Host-h=5; Secure; Path=/; SameSite=Strict',
  '__Secure-s=6; Secure; Path=/',
  'q="x; Path=/',
  'm=7; path=/p',
];

function head(status: string, extra: string[]): string {
  let text = `HTTP/1.1 ${status}\r\n`;
  for (let i = 0; i < extra.length; i += 2) text += `${extra[i]}: ${extra[i + 1]}\r\n`;
  return `${text}\r\n`;
}

/** A real app: plain responses and upgrades both set APP_COOKIES. */
async function cookieApp(t: TestContext): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    res.writeHead(200, ['Content-Type', 'text/plain', ...APP_COOKIES]);
    res.end('ok');
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket: Socket) => {
    if (req.url === '/refuse') {
      socket.end(head('403 Forbidden', ['Content-Length', '2', ...APP_COOKIES]) + 'no');
      return;
    }
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(
      head('101 Switching Protocols', ['Upgrade', 'websocket', 'Connection', 'Upgrade', 'Sec-WebSocket-Accept', accept, ...APP_COOKIES]),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

test('plain responses: every Set-Cookie reaches the client confined to the endpoint host, the rest intact', async (t) => {
  const appPort = await cookieApp(t);
  const r = await rig(t, { defaultPort: appPort });
  const res = await call(r.port, { host: `${OWN}:${r.port}`, path: '/', headers: { 'x-aws-proxy-auth': r.token({ ports: 'all' }) } });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'ok');
  assert.deepEqual(res.headers['set-cookie'], CLIENT_COOKIES);
  assert.equal(res.headers['x-note'], `Domain=${DOMAIN}`, 'other headers are not rewritten');
});

test('WebSocket upgrades: the 101 and a refused handshake carry the same confined cookies', async (t) => {
  const appPort = await cookieApp(t);
  const r = await rig(t, { defaultPort: appPort });
  const token = r.token({ ports: 'all' });
  const open = (path: string) => new WebSocket(`ws://127.0.0.1:${r.port}${path}`, { headers: { host: OWN, 'x-aws-proxy-auth': token } });

  const ws = open('/');
  const upgraded = await new Promise<string[] | undefined>((resolve, reject) => {
    ws.once('upgrade', (res) => resolve(res.headers['set-cookie']));
    ws.once('error', reject);
  });
  ws.terminate();
  assert.deepEqual(upgraded, CLIENT_COOKIES);

  const refused = open('/refuse');
  const answer = await new Promise<{ status: number | undefined; cookies: string[] | undefined }>((resolve, reject) => {
    refused.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode, cookies: res.headers['set-cookie'] });
      res.resume();
    });
    refused.once('error', reject);
  });
  refused.terminate();
  assert.equal(answer.status, 403);
  assert.deepEqual(answer.cookies, CLIENT_COOKIES);
});
