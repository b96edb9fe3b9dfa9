/**
 * Signature Version 4 authentication, end to end: the official client with a wrong secret, an
 * unknown key, a skewed clock; captured requests replayed byte for byte over node http; unsigned,
 * malformed and tampered requests. Every refusal is a 403 and reaches no core service.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ListMicrovmImagesCommand,
  ListManagedMicrovmImagesCommand,
  LambdaMicrovmsServiceException,
  ValidationException,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { KEY_A, startHarness } from './support/harness.js';
import { send, signed, type RawRequest } from './support/raw-request.js';

const MINUTE = 60_000;

async function refusal(p: Promise<unknown>): Promise<LambdaMicrovmsServiceException> {
  const err = await p.catch((e: unknown) => e);
  assert.ok(err instanceof LambdaMicrovmsServiceException, `expected a service exception, got ${String(err)}`);
  assert.equal(err.$metadata.httpStatusCode, 403);
  assert.equal(err.$fault, 'client');
  return err;
}

/** Records each request the client sends, after signing, as raw parts we can send again. */
function capture(client: LambdaMicrovmsClient): RawRequest[] {
  const seen: RawRequest[] = [];
  const record = (next: (args: { request: unknown }) => Promise<unknown>) => async (args: { request: unknown }) => {
    const r = args.request as {
      method: string;
      path: string;
      query?: Record<string, string>;
      headers: Record<string, string>;
      body?: string;
    };
    const qs = new URLSearchParams(r.query ?? {}).toString();
    seen.push({
      method: r.method,
      path: qs ? `${r.path}?${qs}` : r.path,
      headers: { ...r.headers },
      ...(r.body !== undefined ? { body: r.body } : {}),
    });
    return next(args);
  };
  // The stack's middleware type is a union of every step's; this one runs in finalizeRequest.
  client.middlewareStack.addRelativeTo(record as never, {
    relation: 'after',
    toMiddleware: 'httpSigningMiddleware',
    name: 'captureSignedRequest',
  });
  return seen;
}

test('a wrong secret is InvalidSignatureException (403) and calls nothing', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const c = h.client({ ...KEY_A, secretAccessKey: 'not-the-secret' });
  const err = await refusal(c.send(new ListMicrovmImagesCommand({})));
  assert.equal(err.name, 'InvalidSignatureException');
  assert.match(err.message, /signature we calculated does not match/);
  assert.equal(h.core.calls.length, 0);
});

test('an unknown access key is UnrecognizedClientException (403)', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const c = h.client({ ...KEY_A, accessKeyId: 'CBKUNKNOWNUNKNOWN000' });
  const err = await refusal(c.send(new ListManagedMicrovmImagesCommand({})));
  assert.equal(err.name, 'UnrecognizedClientException');
  assert.equal(err.message, 'The security token included in the request is invalid.');
});

test('a request dated more than 5 minutes off is refused; the client corrects its clock and retries', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const late = await refusal(h.client(KEY_A, { systemClockOffset: -10 * MINUTE }).send(new ListMicrovmImagesCommand({})));
  assert.equal(late.name, 'InvalidSignatureException');
  assert.match(late.message, /^Signature expired: \d{8}T\d{6}Z is now earlier than/);
  const early = await refusal(h.client(KEY_A, { systemClockOffset: 10 * MINUTE }).send(new ListMicrovmImagesCommand({})));
  assert.match(early.message, /^Signature not yet current/);
  // Within the window is fine.
  const ok = await h.client(KEY_A, { systemClockOffset: -4 * MINUTE }).send(new ListMicrovmImagesCommand({}));
  assert.equal(ok.$metadata.httpStatusCode, 200);

  // With retries on (the default 3 attempts), the client reads our Date header, fixes its offset
  // and the second attempt passes: skewed AWS clients work against Cubby as against AWS.
  const retrying = h.client(KEY_A, { systemClockOffset: -10 * MINUTE, maxAttempts: 3 });
  const out = await retrying.send(new ListMicrovmImagesCommand({}));
  assert.equal(out.$metadata.httpStatusCode, 200);
  assert.equal(out.$metadata.attempts, 2);
});

test('a captured request replayed over node http is refused; signed afresh it passes', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const c = h.client();
  const seen = capture(c);
  const first = await c.send(new ListMicrovmImagesCommand({ maxResults: 5 }));
  assert.equal(first.$metadata.httpStatusCode, 200);
  const captured = seen[0];
  assert.ok(captured);
  assert.ok(captured.headers.authorization?.startsWith('AWS4-HMAC-SHA256 Credential=CBKAAAAAAAAAAAAAAAAA/'));
  const callsBefore = h.core.calls.length;
  const replay = await send(h.port, captured);
  assert.equal(replay.status, 403);
  assert.equal(replay.headers['x-amzn-errortype'], 'InvalidSignatureException');
  assert.match(String(replay.json?.message), /already been used/);
  assert.equal(h.core.calls.length, callsBefore);

  // A raw request signed by us is accepted once, then refused as a replay.
  const raw = await signed(h.port, KEY_A, { method: 'GET', path: '/2025-09-09/microvm-images?maxResults=2' });
  assert.equal((await send(h.port, raw)).status, 200);
  assert.equal((await send(h.port, raw)).status, 403);
  // The official client signs every call afresh, so repeating a call is no replay.
  assert.equal((await c.send(new ListMicrovmImagesCommand({ maxResults: 5 }))).$metadata.httpStatusCode, 200);
});

test('unsigned, malformed and tampered requests are refused with AWS error names', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const path = '/2025-09-09/microvm-images';
  const host = `127.0.0.1:${h.port}`;

  const unsigned = await send(h.port, { method: 'GET', path, headers: { host } });
  assert.deepEqual([unsigned.status, unsigned.headers['x-amzn-errortype']], [403, 'MissingAuthenticationTokenException']);
  assert.equal(unsigned.json?.message, 'Missing Authentication Token');

  for (const authorization of [
    'Bearer abc',
    'AWS4-HMAC-SHA256 Credential=x',
    'AWS4-HMAC-SHA256 Credential=K/2026/local/lambda/aws4_request, SignedHeaders=host, Signature=00',
  ]) {
    const r = await send(h.port, { method: 'GET', path, headers: { host, authorization, 'x-amz-date': '20260101T000000Z' } });
    assert.deepEqual([r.status, r.headers['x-amzn-errortype']], [403, 'IncompleteSignatureException'], authorization);
  }

  const body = JSON.stringify({ name: 'x', baseImageArn: 'debian-12-python', codeArtifact: { uri: 'file:///a.zip' } });
  const good = await signed(h.port, KEY_A, { method: 'POST', path, body });
  const tamperedBody = await send(h.port, { ...good, body: body.replace('"x"', '"y"') });
  assert.deepEqual([tamperedBody.status, tamperedBody.headers['x-amzn-errortype']], [403, 'InvalidSignatureException']);

  const listing = await signed(h.port, KEY_A, { method: 'GET', path: `${path}?maxResults=2` });
  const tamperedQuery = await send(h.port, { ...listing, path: `${path}?maxResults=3` });
  assert.equal(tamperedQuery.status, 403);
  const tamperedPath = await send(h.port, { ...listing, path: '/2025-09-09/microvms?maxResults=2' });
  assert.equal(tamperedPath.status, 403);

  const otherService = await send(h.port, {
    ...listing,
    headers: { ...listing.headers, authorization: String(listing.headers.authorization).replace('/lambda/', '/s3/') },
  });
  assert.deepEqual([otherService.status, otherService.headers['x-amzn-errortype']], [403, 'InvalidSignatureException']);
  assert.match(String(otherService.json?.message), /scoped to correct service: 'lambda'/);

  assert.equal(h.core.calls.length, 0);
  // The untouched signed request still works (it was never accepted before).
  assert.equal((await send(h.port, good)).status, 201);
});

test('any region in the credential scope is accepted (ARNs use the server region)', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const out = await h.client(KEY_A, { region: 'us-east-1' }).send(new ListMicrovmImagesCommand({}));
  assert.equal(out.$metadata.httpStatusCode, 200);
  // Auth comes first: a bad request from a good caller is a ValidationException, not a 403.
  await assert.rejects(h.client().send(new ListMicrovmImagesCommand({ maxResults: 51 })), ValidationException);
});
