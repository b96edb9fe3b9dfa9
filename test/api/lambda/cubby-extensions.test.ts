/**
 * Cubby's /cubby/v1 extensions over a real socket, with the CLI's signed client: build and
 * microVM logs as text, and artifact uploads streamed to <artifactsDir>/<tenantId>/<id>.zip.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { CreateMicrovmImageCommand, RunMicrovmCommand } from '@aws-sdk/client-lambda-microvms';
import { ExtensionError, cubbyExtension, signedCall, uploadArtifact } from '../../../src/client/extension.js';
import { KEY_A, KEY_B, startHarness, type Harness } from './support/harness.js';
import { imageInput } from './support/fixtures.js';
import { send } from './support/raw-request.js';

const LIMIT = 4 * 1024 * 1024;

async function setUp(t: TestContext): Promise<{ h: Harness; dir: string; tmp: string }> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-ext-'));
  const dir = path.join(tmp, 'artifacts');
  const h = await startHarness({ artifactsDir: dir, maxArtifactBytes: LIMIT });
  t.after(async () => {
    await h.close();
    await fs.rm(tmp, { recursive: true, force: true });
  });
  return { h, dir, tmp };
}

/** A file that starts like a zip (the route checks the magic; the build checks the rest). */
async function zipLike(tmp: string, size: number, name = 'a.zip'): Promise<string> {
  const file = path.join(tmp, name);
  const body = Buffer.alloc(size, 7);
  Buffer.from([0x50, 0x4b, 0x03, 0x04]).copy(body);
  await fs.writeFile(file, body);
  return file;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  }
  return out.sort();
}

/** Headers of a PUT /cubby/v1/artifacts signed by tenant A for `body`; without a length, it goes chunked. */
async function uploadHeaders(port: number, body: Buffer, withLength: boolean): Promise<Record<string, string>> {
  const signer = new SignatureV4({ credentials: KEY_A, region: 'local', service: 'lambda', sha256: Sha256 });
  const headers: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    'content-type': 'application/zip',
    'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
    ...(withLength ? { 'content-length': String(body.length) } : { 'transfer-encoding': 'chunked' }),
  };
  const signed = await signer.sign({
    method: 'PUT',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port,
    path: '/cubby/v1/artifacts',
    query: {},
    headers,
  });
  return signed.headers as Record<string, string>;
}

async function rejectsWith(p: Promise<unknown>, name: string, status: number): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ExtensionError, String(e));
    assert.equal(e.name, name, e.message);
    assert.equal(e.status, status);
    return true;
  });
}

test('PUT /cubby/v1/artifacts stores the zip under the tenant, mode 0600, and answers its cubby-artifact URI', async (t) => {
  const { h, dir, tmp } = await setUp(t);
  const file = await zipLike(tmp, 300_000);
  const uri = await uploadArtifact(file, h.client(KEY_A));
  const m = /^cubby-artifact:\/\/([A-Za-z0-9_-]{22})$/.exec(uri);
  assert.ok(m, uri);
  const stored = path.join(dir, await h.tenantId(KEY_A), `${m[1]}.zip`);
  assert.deepEqual(await fs.readFile(stored), await fs.readFile(file));
  assert.equal((await fs.stat(stored)).mode & 0o777, 0o600);
  const uriB = await uploadArtifact(file, h.client(KEY_B));
  assert.notEqual(uriB, uri);
  assert.deepEqual(
    await filesUnder(dir),
    [`${await h.tenantId(KEY_A)}/${m[1]}.zip`, `${await h.tenantId(KEY_B)}/${uriB.slice('cubby-artifact://'.length)}.zip`].sort(),
  );
  // The URI is accepted as a code artifact by CreateMicrovmImage.
  await h.client(KEY_A).send(new CreateMicrovmImageCommand(imageInput('uploaded', { codeArtifact: { uri } })));
});

test('uploads are refused, leaving nothing behind: unsigned, too large, body not matching its signed hash, not a zip, wrong type', async (t) => {
  const { h, dir, tmp } = await setUp(t);
  const c = h.client(KEY_A);
  const unsigned = await send(h.port, {
    method: 'PUT',
    path: '/cubby/v1/artifacts',
    headers: { 'content-type': 'application/zip' },
    body: Buffer.from('PK\x03\x04'),
  });
  assert.equal(unsigned.status, 403);
  assert.equal(unsigned.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
  await rejectsWith(uploadArtifact(await zipLike(tmp, LIMIT + 1, 'big.zip'), c), 'ValidationException', 400);
  const notZip = path.join(tmp, 'x.zip');
  await fs.writeFile(notZip, 'just text');
  await rejectsWith(uploadArtifact(notZip, c), 'ValidationException', 400);
  await rejectsWith(
    signedCall(c, 'PUT', '/cubby/v1/artifacts', { file: notZip, contentType: 'text/plain' }).then((r) => {
      throw new ExtensionError(r.status, r.body);
    }),
    'ValidationException',
    400,
  );
  // Signed for one body, sent with another of the same length.
  const bytes = await fs.readFile(await zipLike(tmp, 1000, 'good.zip'));
  const tampered = Buffer.from(bytes);
  tampered[500] = 1;
  const r = await send(h.port, {
    method: 'PUT',
    path: '/cubby/v1/artifacts',
    headers: await uploadHeaders(h.port, bytes, true),
    body: tampered,
  });
  assert.equal(r.status, 403, r.text);
  assert.equal(r.headers['x-amzn-errortype'], 'InvalidSignatureException');
  // Chunked, so the size is only known once the limit is passed mid-stream.
  const big = await fs.readFile(await zipLike(tmp, LIMIT + 10, 'big2.zip'));
  const chunked = await send(h.port, {
    method: 'PUT',
    path: '/cubby/v1/artifacts',
    headers: await uploadHeaders(h.port, big, false),
    body: big,
  });
  assert.equal(chunked.status, 400, chunked.text);
  assert.equal(chunked.json?.cubbyCode, 'API_BODY_TOO_LARGE');
  assert.deepEqual(await filesUnder(dir), []);
});

test('an upload is written to disk as it arrives, not collected in memory first', async (t) => {
  const { h, dir } = await setUp(t);
  const body = Buffer.alloc(3 * 1024 * 1024, 1);
  Buffer.from([0x50, 0x4b, 0x03, 0x04]).copy(body);
  const headers = await uploadHeaders(h.port, body, true);
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: h.port, method: 'PUT', path: '/cubby/v1/artifacts', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    const half = 2 * 1024 * 1024;
    req.write(body.subarray(0, half));
    // The rest is sent only once the first 2 MiB are in the partial file on disk.
    void (async () => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const part = (await filesUnder(dir)).find((f) => f.endsWith('.zip.part'));
        if (part && (await fs.stat(path.join(dir, part))).size >= half) break;
        if (Date.now() > deadline) {
          req.destroy(new Error('the first half never reached the disk'));
          return;
        }
        await new Promise((res) => setTimeout(res, 20));
      }
      req.end(body.subarray(half));
    })();
  });
  const r = await answer;
  assert.equal(r.status, 201, r.text);
  const uri = (JSON.parse(r.text) as { uri: string }).uri;
  const stored = path.join(dir, await h.tenantId(KEY_A), `${uri.slice('cubby-artifact://'.length)}.zip`);
  assert.equal((await fs.stat(stored)).size, body.length);
});

test('build log and microVM logs are text/plain, scoped to the caller', async (t) => {
  const { h } = await setUp(t);
  const a = h.client(KEY_A);
  await a.send(new CreateMicrovmImageCommand(imageInput('app')));
  const { microvmId } = await a.send(new RunMicrovmCommand({ imageIdentifier: 'app' }));
  assert.ok(microvmId);
  const asked: unknown[] = [];
  h.core.images.buildLog = async (caller, name, version, buildId) => {
    asked.push([caller.tenant.id, name, version, buildId]);
    return 'step 1/3: FROM debian-12-python\n';
  };
  const logs = h.core.microvms.logs.bind(h.core.microvms);
  h.core.microvms.logs = async (caller, id) => {
    await logs(caller, id);
    return Buffer.from('counter app serving on 8080\n');
  };

  assert.equal(await cubbyExtension('GET', '/cubby/v1/images/app/versions/1.0/log', a), 'step 1/3: FROM debian-12-python\n');
  const arn = encodeURIComponent(`arn:aws:lambda:local:${KEY_A.tenant.accountId}:microvm-image:app`);
  await cubbyExtension('GET', `/cubby/v1/images/${arn}/versions/1.0/log?buildId=b-1`, a);
  const ta = await h.tenantId(KEY_A);
  assert.deepEqual(asked, [
    [ta, 'app', '1.0', undefined],
    [ta, 'app', '1.0', 'b-1'],
  ]);
  const r = await signedCall(a, 'GET', `/cubby/v1/microvms/${microvmId}/logs`);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'counter app serving on 8080\n');
  await rejectsWith(cubbyExtension('GET', `/cubby/v1/microvms/${microvmId}/logs`, h.client(KEY_B)), 'ResourceNotFoundException', 404);
  // The egress audit: another tenant's microVM does not exist; this harness's network keeps no audit.
  await rejectsWith(
    cubbyExtension('GET', `/cubby/v1/microvms/${microvmId}/egress-audit`, h.client(KEY_B)),
    'ResourceNotFoundException',
    404,
  );
  await rejectsWith(cubbyExtension('GET', `/cubby/v1/microvms/${microvmId}/egress-audit`, a), 'ConflictException', 409);
  await rejectsWith(cubbyExtension('GET', '/cubby/v1/images/app/versions/1.0/log?other=1', a), 'ValidationException', 400);
  const unsigned = await send(h.port, { method: 'GET', path: `/cubby/v1/microvms/${microvmId}/logs`, headers: {} });
  assert.equal(unsigned.status, 403);
});

test('without an artifacts directory the upload route does not exist', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-ext-'));
  t.after(() => fs.rm(tmp, { recursive: true, force: true }));
  await rejectsWith(uploadArtifact(await zipLike(tmp, 100), h.client(KEY_A)), 'UnknownOperationException', 404);
});
