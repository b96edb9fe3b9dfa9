import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAmzDate, parseAmzDate, parseAuthorization } from '../../../../src/api/lambda/auth/authorization-header.js';
import { isCubbyError } from '../../../../src/errors/index.js';

const SIG = 'a'.repeat(64);

test('parses the Authorization header the official client sends', () => {
  const parsed = parseAuthorization(
    `AWS4-HMAC-SHA256 Credential=CBKAAAA/20261130/local/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=${SIG}`,
  );
  assert.deepEqual(parsed, {
    accessKeyId: 'CBKAAAA',
    scopeDate: '20261130',
    region: 'local',
    service: 'lambda',
    signedHeaders: ['host', 'x-amz-date'],
    signature: SIG,
  });
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
    assert.throws(
      () => parseAuthorization(bad),
      (e: unknown) => isCubbyError(e, 'AUTH_MALFORMED'),
      bad,
    );
  }
});

test('x-amz-date parses strictly and formats back', () => {
  const d = parseAmzDate('20261130T041353Z');
  assert.equal(d?.toISOString(), '2026-11-30T04:13:53.000Z');
  assert.equal(formatAmzDate(new Date('2026-11-30T04:13:53.999Z')), '20261130T041353Z');
  for (const bad of ['20261330T000000Z', '20261130T250000Z', '2026-11-30T04:13:53Z', '20261130T041353'])
    assert.equal(parseAmzDate(bad), undefined, bad);
});
