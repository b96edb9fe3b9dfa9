/** The authenticator alone, against requests signed by @smithy/signature-v4 as clients sign them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { SigV4Authenticator } from '../../../../src/api/lambda/auth/sigv4-authenticator.js';
import type { ReceivedRequest } from '../../../../src/api/lambda/auth/types.js';
import type { Tenant } from '../../../../src/core/model.js';
import { isCubbyError, type ErrorCode } from '../../../../src/errors/index.js';

const tenant: Tenant = { id: 'tn_a', name: 'a', accountId: '123456789012', createdAt: new Date() };
const KEY = { accessKeyId: 'CBKTESTTESTTESTTEST1', secretAccessKey: 'shh' };
const NOW = Date.parse('2026-11-30T12:00:00Z');

async function signedRequest(
  opts: {
    date?: number;
    headers?: Record<string, string>;
    body?: string;
    path?: string;
    query?: Record<string, string | string[]>;
    unsignable?: boolean;
  } = {},
): Promise<ReceivedRequest> {
  const signer = new SignatureV4({ credentials: KEY, region: 'local', service: 'lambda', sha256: Sha256 });
  const headers = { host: '127.0.0.1:1', ...(opts.headers ?? {}) };
  const out = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: opts.path ?? '/2017-03-31/tags/arn%3Aaws%3Alambda%3Alocal%3A123456789012%3Amicrovm-image%3Aapp',
      query: opts.query ?? {},
      headers,
      body: opts.body,
    },
    { signingDate: new Date(opts.date ?? NOW), ...(opts.unsignable ? { signableHeaders: new Set(['user-agent']) } : {}) },
  );
  const h = Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
  return {
    method: 'POST',
    rawPath: out.path,
    query: opts.query ?? {},
    headers: h,
    body: opts.body === undefined ? undefined : Buffer.from(opts.body),
  };
}

function auth(now = NOW): SigV4Authenticator {
  return new SigV4Authenticator({
    lookupKey: async (id) => (id === KEY.accessKeyId ? { secretAccessKey: KEY.secretAccessKey, tenant } : undefined),
    now: () => now,
  });
}

async function refused(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => isCubbyError(e, code));
}

test('accepts a correctly signed request (encoded path, repeated query keys, body, even user-agent signed)', async () => {
  const a = auth();
  const req = await signedRequest({
    body: '{"Tags":{"a":"b"}}',
    query: { tagKeys: ['a', 'b c', 'a+b'], z: '' },
    headers: { 'user-agent': 'x/1', 'content-type': 'application/json' },
    unsignable: true,
  });
  assert.match(String(req.headers.authorization), /SignedHeaders=[^,]*user-agent/);
  assert.deepEqual(await a.authenticate(req), { tenant });
});

test('refuses stale, future, replayed, tampered and unknown-key requests', async () => {
  await refused(auth().authenticate(await signedRequest({ date: NOW - 5 * 60_000 - 1000 })), 'AUTH_EXPIRED');
  await refused(auth().authenticate(await signedRequest({ date: NOW + 5 * 60_000 + 1000 })), 'AUTH_EXPIRED');
  const a = auth();
  const req = await signedRequest({ body: '{}' });
  await a.authenticate(req);
  await refused(a.authenticate(req), 'AUTH_REPLAYED');
  await refused(auth().authenticate({ ...req, body: Buffer.from('{ }') }), 'AUTH_BAD_SIGNATURE');
  await refused(auth().authenticate({ ...req, rawPath: '/other' }), 'AUTH_BAD_SIGNATURE');
  await refused(auth().authenticate({ ...req, query: { x: '1' } }), 'AUTH_BAD_SIGNATURE');
  await refused(auth().authenticate({ ...req, headers: { ...req.headers, host: 'evil:1' } }), 'AUTH_BAD_SIGNATURE');
  const unknownKey = {
    ...req,
    headers: { ...req.headers, authorization: String(req.headers.authorization).replace(KEY.accessKeyId, 'CBKNOBODYNOBODYNOBO1') },
  };
  await refused(auth().authenticate(unknownKey), 'AUTH_UNKNOWN_KEY');
  const noHost = {
    ...req,
    headers: { ...req.headers, authorization: String(req.headers.authorization).replace('SignedHeaders=host;', 'SignedHeaders=') },
  };
  await refused(auth().authenticate(noHost), 'AUTH_MALFORMED');
  const missingHeader = { ...req, headers: { ...req.headers, 'x-amz-content-sha256': undefined } };
  await refused(auth().authenticate(missingHeader), 'AUTH_MALFORMED');
  await refused(auth().authenticate({ ...req, headers: { host: 'x' } }), 'AUTH_MISSING');
});

test('a signed x-amz-content-sha256 must match the body', async () => {
  const req = await signedRequest({ body: 'abc', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
  await refused(auth().authenticate(req), 'AUTH_BAD_SIGNATURE');
});

test("one tenant's flood is throttled in its own replay pool: another tenant is neither blocked nor replayable", async () => {
  const other: Tenant = { id: 'tn_b', name: 'b', accountId: '210987654321', createdAt: new Date() };
  const KEY_B = { accessKeyId: 'CBKTESTTESTTESTTEST2', secretAccessKey: 'hush' };
  const a = new SigV4Authenticator({
    lookupKey: async (id) =>
      id === KEY.accessKeyId
        ? { secretAccessKey: KEY.secretAccessKey, tenant }
        : id === KEY_B.accessKeyId
          ? { secretAccessKey: KEY_B.secretAccessKey, tenant: other }
          : undefined,
    now: () => NOW,
    replayCacheSize: 5,
  });
  const signB = async (body: string): Promise<ReceivedRequest> => {
    const signer = new SignatureV4({ credentials: KEY_B, region: 'local', service: 'lambda', sha256: Sha256 });
    const out = await signer.sign(
      { method: 'POST', protocol: 'http:', hostname: '127.0.0.1', path: '/x', query: {}, headers: { host: '127.0.0.1:1' }, body },
      { signingDate: new Date(NOW) },
    );
    const h = Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
    return { method: 'POST', rawPath: out.path, query: {}, headers: h, body: Buffer.from(body) };
  };
  const b0 = await signB('{"n":0}');
  assert.deepEqual(await a.authenticate(b0), { tenant: other });
  const flood = await Promise.all(Array.from({ length: 12 }, (_, i) => signedRequest({ body: `{"flood":${i}}` })));
  let throttled = 0;
  for (const req of flood) {
    try {
      await a.authenticate(req);
    } catch (e) {
      assert.ok(isCubbyError(e, 'THROTTLED'), String(e));
      assert.equal(typeof e.details?.retryAfterSeconds, 'number');
      throttled += 1;
    }
  }
  assert.equal(throttled, 7, "tenant A is throttled past its own pool's 5 entries");
  await refused(a.authenticate(flood[0] as ReceivedRequest), 'AUTH_REPLAYED');
  await refused(a.authenticate(b0), 'AUTH_REPLAYED');
  for (let i = 1; i <= 4; i++) assert.deepEqual(await a.authenticate(await signB(`{"n":${i}}`)), { tenant: other }, `B request ${i}`);
});
