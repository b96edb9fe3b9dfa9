/**
 * `--tls self-signed` and the gateway over TLS: a client that trusts only the local CA reaches
 * sandboxes by host name over HTTP/1.1 and HTTP/2 (ALPN), streamed responses arrive in pieces
 * before the app finishes, request bodies pass over HTTP/2, and WebSockets stay on HTTP/1.1.
 */
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as h2connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import type { LookupFunction } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { ENVD_PORT } from '../../src/gateway/e2b-access.js';
import { ensureSelfSigned } from '../../src/gateway/self-signed-ca.js';
import { e2bRig, ENVD_TOKEN, SBX } from './support/e2b-rig.js';
import { DOMAIN } from './support/setup.js';

/** Every name resolves to 127.0.0.1: host names are checked against the certificate, no DNS needed. */
const loopback = ((_host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => {
  if (opts.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
}) as unknown as LookupFunction;

async function tmpDir(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-tls-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

async function tlsRig(t: TestContext) {
  const dataDir = await tmpDir(t);
  const material = await ensureSelfSigned(dataDir, DOMAIN);
  const r = await e2bRig(t, { gateway: { tls: { cert: material.cert, key: material.key } } });
  const ca = await fs.readFile(material.caPath as string);
  return { ...r, ca, dataDir };
}

function get(port: number, host: string, p: string, o: { ca?: Buffer; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; body: string; alpn: string | false; chunks: Array<{ at: number; text: string }> }>(
    (resolve, reject) => {
      const chunks: Array<{ at: number; text: string }> = [];
      const req = httpsRequest(
        // ALPN offered as a browser would, so the server's choice of HTTP/1.1 is visible.
        {
          host,
          port,
          path: p,
          headers: o.headers ?? {},
          lookup: loopback,
          agent: false,
          ...(o.ca ? { ca: o.ca } : {}),
          ...{ ALPNProtocols: ['http/1.1'] },
        },
        (res) => {
          res.on('data', (c: Buffer) => chunks.push({ at: Date.now(), text: c.toString() }));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: chunks.map((c) => c.text).join(''),
              alpn: (res.socket as unknown as { alpnProtocol: string | false }).alpnProtocol,
              chunks,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    },
  );
}

function h2session(t: TestContext, port: number, host: string, ca: Buffer): ClientHttp2Session {
  const session = h2connect(`https://${host}:${port}`, {
    createConnection: () => tlsConnect({ host: '127.0.0.1', port, servername: host, ca, ALPNProtocols: ['h2'] }),
  });
  session.on('error', () => {}); // reset when the gateway closes first at the end of a test
  t.after(() => session.close());
  return session;
}

function h2request(session: ClientHttp2Session, headers: Record<string, string>, body?: Buffer) {
  return new Promise<{ headers: IncomingHttpHeaders; chunks: Array<{ at: number; data: Buffer }> }>((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Array<{ at: number; data: Buffer }> = [];
    let head: IncomingHttpHeaders = {};
    stream.on('response', (h) => (head = h));
    stream.on('data', (d: Buffer) => chunks.push({ at: Date.now(), data: d }));
    stream.on('end', () => resolve({ headers: head, chunks }));
    stream.on('error', reject);
    if (body !== undefined) {
      // In pieces and without a length: the body is known only by the stream staying open.
      stream.write(body.subarray(0, body.length / 2));
      setTimeout(() => stream.end(body.subarray(body.length / 2)), 50);
    }
  });
}

test('self-signed: a CA and a server certificate for the domain, private keys 0600, reused, remade for a new domain', async (t) => {
  const dataDir = await tmpDir(t);
  const a = await ensureSelfSigned(dataDir, DOMAIN);
  assert.equal(a.caPath, path.join(dataDir, 'tls', 'ca.pem'));
  for (const f of ['ca-key.pem', 'server-key.pem']) assert.equal((await fs.stat(path.join(dataDir, 'tls', f))).mode & 0o777, 0o600, f);
  const cert = new X509Certificate(a.cert);
  const ca = new X509Certificate(await fs.readFile(a.caPath as string));
  assert.ok(ca.ca);
  assert.ok(cert.verify(ca.publicKey));
  for (const name of [`DNS:${DOMAIN}`, `DNS:*.${DOMAIN}`, 'DNS:localhost', 'IP Address:127.0.0.1'])
    assert.ok(cert.subjectAltName?.includes(name), name);
  assert.equal(cert.checkHost(`${ENVD_PORT}-${SBX}.${DOMAIN}`), `*.${DOMAIN}`);

  const again = await ensureSelfSigned(dataDir, DOMAIN);
  assert.ok(again.cert.equals(a.cert) && again.key.equals(a.key), 'reused across restarts');
  const moved = await ensureSelfSigned(dataDir, 'other.test');
  const movedCert = new X509Certificate(moved.cert);
  assert.ok(movedCert.subjectAltName?.includes('DNS:*.other.test'));
  assert.ok(!movedCert.subjectAltName?.includes(DOMAIN));
  assert.ok(movedCert.verify(ca.publicKey), 'the CA is kept: clients trust it once');
  assert.equal(new X509Certificate(await fs.readFile(a.caPath as string)).fingerprint256, ca.fingerprint256);
});

test('HTTPS over HTTP/1.1: verified with only the local CA, refused without it, streams arrive in pieces', async (t) => {
  const r = await tlsRig(t);
  const host = `${ENVD_PORT}-${SBX}.${DOMAIN}`;
  const ok = await get(r.port, host, '/echo', { ca: r.ca, headers: { 'x-access-token': ENVD_TOKEN } });
  assert.equal(ok.status, 200);
  assert.equal(ok.alpn, 'http/1.1');
  const echoed = JSON.parse(ok.body) as { port: number; headers: Record<string, string> };
  assert.equal(echoed.port, ENVD_PORT);
  assert.equal(echoed.headers['x-forwarded-proto'], 'https');

  await assert.rejects(get(r.port, host, '/echo'), (e: NodeJS.ErrnoException) => /UNABLE_TO_VERIFY|SELF_SIGNED/.test(e.code ?? ''));
  // The certificate names the domain: a name outside it fails verification.
  await assert.rejects(get(r.port, 'elsewhere.example', '/echo', { ca: r.ca }), /altnames|Hostname/i);

  const appHost = `${r.app.port}-${SBX}.${DOMAIN}`;
  const t0 = Date.now();
  const stream = await get(r.port, appHost, '/chunked?n=5&gapMs=150', { ca: r.ca });
  assert.equal(stream.body, 'chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n');
  assert.ok(stream.chunks.length >= 3, `arrived in ${stream.chunks.length} pieces`);
  const first = stream.chunks[0] as { at: number };
  const last = stream.chunks.at(-1) as { at: number };
  assert.ok(first.at - t0 < 400 && last.at - first.at >= 400, 'the first piece came long before the app finished');
});

test('HTTP/2 by ALPN: routing, auth, a streamed response in pieces, a request body of unknown length', async (t) => {
  const r = await tlsRig(t);
  const host = `${ENVD_PORT}-${SBX}.${DOMAIN}`;
  const session = h2session(t, r.port, host, r.ca);
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  assert.equal(session.alpnProtocol, 'h2');

  const echo = await h2request(session, { ':path': '/echo', 'x-access-token': ENVD_TOKEN });
  assert.equal(echo.headers[':status'], 200);
  const echoed = JSON.parse(Buffer.concat(echo.chunks.map((c) => c.data)).toString()) as { port: number; headers: Record<string, string> };
  assert.equal(echoed.port, ENVD_PORT);
  assert.equal(echoed.headers.host, `${host}:${r.port}`, 'the :authority reaches the app as Host');
  assert.equal(Object.keys(echoed.headers).filter((k) => k.startsWith(':')).length, 0);

  const refused = await h2request(session, { ':path': '/echo' });
  assert.equal(refused.headers[':status'], 401);
  assert.equal(JSON.parse(Buffer.concat(refused.chunks.map((c) => c.data)).toString()).code, 401);

  // The app is reached on the same connection by another host name the certificate covers.
  const t0 = Date.now();
  const streamed = await h2request(session, { ':path': '/chunked?n=5&gapMs=150', ':authority': `${r.app.port}-${SBX}.${DOMAIN}` });
  assert.equal(streamed.headers[':status'], 200);
  assert.equal(Buffer.concat(streamed.chunks.map((c) => c.data)).toString(), 'chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n');
  assert.ok(streamed.chunks.length >= 3, `arrived in ${streamed.chunks.length} pieces`);
  const first = streamed.chunks[0] as { at: number };
  const last = streamed.chunks.at(-1) as { at: number };
  assert.ok(first.at - t0 < 400 && last.at - first.at >= 400, 'the first piece came long before the app finished');

  const body = Buffer.alloc(300_000, 7);
  const up = await h2request(
    session,
    { ':method': 'POST', ':path': '/upload', ':authority': `${r.app.port}-${SBX}.${DOMAIN}`, 'content-type': 'application/octet-stream' },
    body,
  );
  assert.equal(up.headers[':status'], 200);
  const got = JSON.parse(Buffer.concat(up.chunks.map((c) => c.data)).toString()) as { bytes: number; sha256: string };
  assert.equal(got.bytes, body.length);
  assert.equal(got.sha256, createHash('sha256').update(body).digest('hex'));

  // E2B's 502 body over HTTP/2 as well.
  r.info.state = 'TERMINATED';
  const gone = await h2request(session, { ':path': '/health', 'x-access-token': ENVD_TOKEN });
  assert.equal(gone.headers[':status'], 502);
  assert.equal(
    Buffer.concat(gone.chunks.map((c) => c.data)).toString(),
    JSON.stringify({ message: 'The sandbox was not found', sandboxId: SBX, code: 502 }),
  );
});

test('WebSocket upgrade over TLS (HTTP/1.1) reaches the app', async (t) => {
  const r = await tlsRig(t);
  const ws = new WebSocket(`wss://${r.app.port}-${SBX}.${DOMAIN}:${r.port}/`, { ca: r.ca, lookup: loopback });
  t.after(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const echoed = new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString())));
  ws.send('hello over tls');
  assert.equal(await echoed, 'hello over tls');
  assert.equal(r.app.wsHandshakes.length, 1);
});
