/**
 * http(s) artifacts against real local servers: the operator's address policy decides, every
 * resolved address and every redirect hop is checked, the connection goes to the checked
 * address, and every refused or failed fetch gives the tenant one and the same text.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ZipArtifactUnpacker } from '../../../src/images/artifact/zip-artifact-unpacker.js';
import type { Resolver } from '../../../src/images/artifact/fetch-remote.js';
import { isCubbyError } from '../../../src/errors/index.js';
import { addressPolicy } from '../../../src/util/address-policy.js';
import { makeZip } from '../../support/zip-writer.js';

const ZIP = makeZip([
  { name: 'Dockerfile', data: 'FROM debian-12-python\n' },
  { name: 'app.py', data: 'print(1)\n' },
]);
type T = { after: (fn: () => Promise<void>) => void };

interface Server {
  base: string;
  port: number;
  seen: { url: string; host: string }[];
}

/** A server on `address`: /ok, /big, /huge, /slow, /redirect, /to?url, /loop, anything else 404. */
async function server(t: T, address = '127.0.0.1'): Promise<Server> {
  const seen: Server['seen'] = [];
  const srv = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', host: req.headers.host ?? '' });
    const u = new URL(req.url ?? '/', 'http://x');
    switch (u.pathname) {
      case '/ok':
        res.end(ZIP);
        return;
      case '/big':
        res.write(Buffer.alloc(64 * 1024));
        res.end(Buffer.alloc(64 * 1024));
        return;
      case '/huge':
        res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
        res.end();
        return;
      case '/slow':
        res.write('P');
        return; // never ends
      case '/redirect':
        res.writeHead(302, { location: '/ok' });
        res.end();
        return;
      case '/to':
        res.writeHead(302, { location: u.searchParams.get('url') ?? '/' });
        res.end();
        return;
      case '/loop':
        res.writeHead(302, { location: '/loop' });
        res.end();
        return;
      default:
        res.writeHead(404);
        res.end('not here');
    }
  });
  await new Promise<void>((r) => srv.listen(0, address, r));
  t.after(
    () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  );
  const { port } = srv.address() as AddressInfo;
  return { base: `http://${address}:${port}`, port, seen };
}

async function tmp(t: T): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-fetch-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A resolver for made-up names (nothing reaches real DNS), counting its calls. */
function names(map: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const r = async (h: string) => {
    calls.push(h);
    const a = map[h];
    if (!a) throw new Error(`ENOTFOUND ${h}`);
    return a;
  };
  return Object.assign(r, { calls });
}

const ONE_TEXT = (given: string) => `the code artifact could not be fetched from ${given}`;

async function expectOneText(u: ZipArtifactUnpacker, url: string, dir: string, reason?: RegExp): Promise<void> {
  await assert.rejects(u.unpack(url, path.join(dir, 'x')), (e: unknown) => {
    assert.ok(isCubbyError(e, 'ARTIFACT_FETCH_FAILED'), `${url}: ${String(e)}`);
    assert.equal(e.message, ONE_TEXT(url));
    assert.equal(e.details, undefined, 'nothing but the text reaches the tenant');
    if (reason) assert.match(String((e.cause as Error | undefined)?.message), reason, `${url}: the real reason is kept as the cause`);
    return true;
  });
}

test('an operator-allowed address is fetched, redirects followed, a name pinned to its checked address', async (t) => {
  const s = await server(t);
  const dir = await tmp(t);
  const resolve = names({ 'artifacts.test': ['127.0.0.1'] });
  const u = new ZipArtifactUnpacker({ addresses: addressPolicy(['127.0.0.1/32']), resolve });
  assert.equal((await u.unpack(`${s.base}/ok`, path.join(dir, 'a'))).files, 2);
  const r2 = await u.unpack(`${s.base}/redirect`, path.join(dir, 'b'));
  assert.equal(await fs.readFile(path.join(r2.dir, 'app.py'), 'utf8'), 'print(1)\n');
  // A name: resolved once by us, connected to that address, the Host header still the name.
  const r3 = await u.unpack(`http://artifacts.test:${s.port}/redirect`, path.join(dir, 'c'));
  assert.equal(r3.files, 2);
  assert.deepEqual(resolve.calls, ['artifacts.test', 'artifacts.test'], 'one resolution per hop, no second one by the HTTP client');
  assert.deepEqual(s.seen.slice(-2), [
    { url: '/redirect', host: `artifacts.test:${s.port}` },
    { url: '/ok', host: `artifacts.test:${s.port}` },
  ]);
});

test('names resolving to refused addresses are refused before any connection, with the one text', async (t) => {
  const s = await server(t);
  const dir = await tmp(t);
  const resolve = names({
    'evil.test': ['127.0.0.1'],
    'mixed.test': ['127.0.0.1', '10.1.2.3'],
    'v6.test': ['::ffff:127.0.0.1'],
    'none.test': [],
  });
  const logged: string[] = [];
  const closed = new ZipArtifactUnpacker({ resolve, log: (f) => logged.push(f.reason) });
  await expectOneText(closed, `http://evil.test:${s.port}/ok`, dir, /evil\.test resolves to 127\.0\.0\.1/);
  await expectOneText(closed, `http://v6.test:${s.port}/ok`, dir, /::ffff:127\.0\.0\.1/);
  await expectOneText(closed, `http://127.0.0.1:${s.port}/ok`, dir, /127\.0\.0\.1 is a refused address/);
  await expectOneText(closed, `http://localhost:${s.port}/ok`, dir);
  await expectOneText(closed, `http://none.test:${s.port}/ok`, dir, /no address/);
  await expectOneText(closed, `http://unknown.test:${s.port}/ok`, dir, /ENOTFOUND/);
  // One allowed address is not enough: ANY refused address refuses the name.
  const op = new ZipArtifactUnpacker({ addresses: addressPolicy(['127.0.0.1/32']), resolve });
  await expectOneText(op, `http://mixed.test:${s.port}/ok`, dir, /10\.1\.2\.3/);
  assert.deepEqual(s.seen, [], 'the loopback server saw no request');
  assert.ok(logged.length >= 6 && logged.every((r) => r.length > 0), `the reasons went to the log: ${JSON.stringify(logged)}`);
  assert.deepEqual(await fs.readdir(dir), []);
});

test('a redirect to a refused address (literal or by name) is refused hop by hop; the target sees nothing', async (t) => {
  const inner = await server(t, '127.0.0.1');
  const outer = await server(t, '127.0.0.2');
  const dir = await tmp(t);
  const u = new ZipArtifactUnpacker({ addresses: addressPolicy(['127.0.0.2/32']), resolve: names({ 'inner.test': ['127.0.0.1'] }) });
  assert.equal((await u.unpack(`${outer.base}/ok`, path.join(dir, 'ok'))).files, 2, 'control: the allowed server is reachable');
  for (const target of [`${inner.base}/ok`, `http://inner.test:${inner.port}/ok`, `http://[::1]:${inner.port}/ok`, `file:///etc/passwd`]) {
    const url = `${outer.base}/to?url=${encodeURIComponent(target)}`;
    await expectOneText(u, url, dir);
  }
  await expectOneText(u, `${outer.base}/loop`, dir, /redirects/);
  assert.deepEqual(inner.seen, [], 'the refused target saw no request');
  await fs.rm(path.join(dir, 'ok'), { recursive: true });
  assert.deepEqual(await fs.readdir(dir), []);
});

test('a 404, a timeout, a stalled resolver and a refusal all give the identical text; size caps stay their own', async (t) => {
  const s = await server(t);
  const dir = await tmp(t);
  const stall: Resolver = () => new Promise(() => {});
  const op = new ZipArtifactUnpacker({
    addresses: addressPolicy(['127.0.0.1/32']),
    resolve: stall,
    limits: { maxArchiveBytes: 100 * 1024, fetchTimeoutMs: 800 },
  });
  const closed = new ZipArtifactUnpacker({ limits: { fetchTimeoutMs: 800 } });
  const messages: string[] = [];
  const url = (p: string) => `${s.base}${p}`;
  for (const [u, given, reason] of [
    [op, url('/missing'), /HTTP 404/],
    [op, url('/slow'), /timed out/],
    [op, `http://stalls.test:${s.port}/ok`, /timed out/],
    [closed, url('/ok'), /refused/],
  ] as const) {
    const started = Date.now();
    await assert.rejects(u.unpack(given, path.join(dir, 'x')), (e: unknown) => {
      assert.ok(isCubbyError(e, 'ARTIFACT_FETCH_FAILED'), `${given}: ${String(e)}`);
      assert.match(String((e.cause as Error | undefined)?.message), reason);
      messages.push(e.message.replace(given, '<url>'));
      return true;
    });
    assert.ok(Date.now() - started < 5000, `${given} took too long`);
  }
  assert.deepEqual(new Set(messages), new Set([ONE_TEXT('<url>')]));
  for (const p of ['/big', '/huge']) {
    await assert.rejects(op.unpack(url(p), path.join(dir, 'x')), (e: unknown) => isCubbyError(e, 'ARTIFACT_TOO_LARGE'), p);
  }
  assert.deepEqual(await fs.readdir(dir), []);
});
