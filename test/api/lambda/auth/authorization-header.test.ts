import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAmzDate, parseAmzDate, parseAuthorization } from '../../../../src/api/lambda/auth/authorization-header.js';
import { ReplayCache } from '../../../../src/api/lambda/auth/replay-cache.js';
import { isCubbyError } from '../../../../src/errors/index.js';

const SIG = 'a'.repeat(64);

test('parses the Authorization header the official client sends', () => {
  const parsed = parseAuthorization(`AWS4-HMAC-SHA256 Credential=CBKAAAA/20261130/local/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=${SIG}`);
  assert.deepEqual(parsed, { accessKeyId: 'CBKAAAA', scopeDate: '20261130', region: 'local', service: 'lambda', signedHeaders: ['host', 'x-amz-date'], signature: SIG });
});

test('malformed headers are AUTH_MALFORMED', () => {
  for (const bad of [
    'Basic abc',
    `AWS4-HMAC-SHA256 SignedHeaders=host, Signature=${SIG}`,
    `AWS4-HMAC-SHA256 Credential=K/2026/local/lambda/aws4_request, SignedHeaders=host, Signature=${SIG}`,
    `AWS4-HMAC-SHA256 Credential=K/20261130/local/lambda/other, SignedHeaders=host, Signature=${SIG}`,
    'AWS4-HMAC-SHA256 Credential=K/20261130/local/lambda/aws4_request, SignedHeaders=host, Signature=xyz',
    `AWS4-HMAC-SHA256 Credential=K/20261130/local/lambda/aws4_request, SignedHeaders=Host, Signature=${SIG}`,
    `AWS4-HMAC-SHA256 Credential=K/20261130/local/lambda/aws4_request, garbage, Signature=${SIG}`,
  ]) {
    assert.throws(() => parseAuthorization(bad), (e: unknown) => isCubbyError(e, 'AUTH_MALFORMED'), bad);
  }
});

test('x-amz-date parses strictly and formats back', () => {
  const d = parseAmzDate('20261130T041353Z');
  assert.equal(d?.toISOString(), '2026-11-30T04:13:53.000Z');
  assert.equal(formatAmzDate(new Date('2026-11-30T04:13:53.999Z')), '20261130T041353Z');
  for (const bad of ['20261330T000000Z', '20261130T250000Z', '2026-11-30T04:13:53Z', '20261130T041353']) assert.equal(parseAmzDate(bad), undefined, bad);
});

test('the replay cache refuses a signature until it expires, and stays bounded', () => {
  const cache = new ReplayCache(3);
  assert.equal(cache.remember('s1', 1000, 0), true);
  assert.equal(cache.remember('s1', 1000, 500), false);
  assert.equal(cache.remember('s1', 2000, 1001), true, 'expired entries may be seen again');
  for (const s of ['a', 'b', 'c', 'd']) cache.remember(s, 5000, 1001);
  assert.equal(cache.size, 3);
  assert.equal(cache.remember('d', 5000, 1002), false);
});
