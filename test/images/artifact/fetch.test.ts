import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ZipArtifactUnpacker } from '../../../src/images/artifact/zip-artifact-unpacker.js';
import { isCubbyError } from '../../../src/errors/index.js';
import { makeZip } from '../../support/zip-writer.js';

const ZIP = makeZip([{ name: 'Dockerfile', data: 'FROM debian-12-python\n' }, { name: 'app.py', data: 'print(1)\n' }]);

/** A local server: /ok, /big (chunked, no length), /huge (declares a length), /slow, /redirect, /missing. */
async function server(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const srv = http.createServer((req, res) => {
    switch (req.url) {
      case '/ok': res.end(ZIP); return;
      case '/big': res.write(Buffer.alloc(64 * 1024)); res.end(Buffer.alloc(64 * 1024)); return;
      case '/huge': res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) }); res.end(); return;
      case '/slow': res.write('P'); return; // never ends
      case '/redirect': res.writeHead(302, { location: '/ok' }); res.end(); return;
      case '/redirect-away': res.writeHead(302, { location: 'http://localhost:1/ok' }); res.end(); return;
      default: res.writeHead(404); res.end();
    }
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }));
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

async function tmp(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-fetch-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

test('an http artifact is downloaded and unpacked, redirects followed', async (t) => {
  const base = await server(t);
  const dir = await tmp(t);
  const r = await new ZipArtifactUnpacker().unpack(`${base}/ok`, path.join(dir, 'a'));
  assert.equal(r.files, 2);
  const r2 = await new ZipArtifactUnpacker().unpack(`${base}/redirect`, path.join(dir, 'b'));
  assert.equal(await fs.readFile(path.join(r2.dir, 'app.py'), 'utf8'), 'print(1)\n');
});

test('http failures: status, size caps (declared and streamed), timeout, disallowed hop', async (t) => {
  const base = await server(t);
  const dir = await tmp(t);
  const small = new ZipArtifactUnpacker({ limits: { maxArchiveBytes: 100 * 1024, fetchTimeoutMs: 800 } });
  const cases: [string, ZipArtifactUnpacker, string][] = [
    [`${base}/missing`, small, 'ARTIFACT_FETCH_FAILED'],
    [`${base}/big`, small, 'ARTIFACT_TOO_LARGE'],
    [`${base}/huge`, small, 'ARTIFACT_TOO_LARGE'],
    [`${base}/slow`, small, 'ARTIFACT_FETCH_FAILED'],
  ];
  for (const [url, u, code] of cases) {
    const started = Date.now();
    await assert.rejects(u.unpack(url, path.join(dir, 'x')), (e: unknown) => {
      assert.ok(isCubbyError(e) && e.code === code, `${url}: expected ${code}, got ${String(e)}`);
      return true;
    });
    assert.ok(Date.now() - started < 5000, `${url} took too long`);
  }
  const onlyLoopbackIp = new ZipArtifactUnpacker({ allowUrl: (u) => u.hostname === '127.0.0.1' });
  await assert.rejects(onlyLoopbackIp.unpack(`${base}/redirect-away`, path.join(dir, 'y')), (e: unknown) => isCubbyError(e, 'ARTIFACT_FETCH_FAILED'));
  assert.deepEqual(await fs.readdir(dir), []);
});
