import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LambdaArns } from '../../../src/api/lambda/arn.js';
import type { Caller } from '../../../src/core/services.js';
import { isCubbyError } from '../../../src/errors/index.js';

const arns = new LambdaArns('local');
const caller: Caller = { tenant: { id: 'tn_a', name: 'a', accountId: '123456789012', createdAt: new Date() } };

test("image identifiers: a bare name or the caller's own ARN; other accounts and regions are not found", () => {
  assert.equal(arns.image('123456789012', 'app'), 'arn:aws:lambda:local:123456789012:microvm-image:app');
  assert.equal(arns.imageName(caller, 'app'), 'app');
  assert.equal(arns.imageName(caller, 'arn:aws:lambda:local:123456789012:microvm-image:app'), 'app');
  for (const other of [
    'arn:aws:lambda:local:999999999999:microvm-image:app',
    'arn:aws:lambda:eu-west-1:123456789012:microvm-image:app',
    'arn:aws:lambda:local:aws:microvm-image:app',
    'arn:aws:lambda:local:123456789012:microvm:app',
  ]) {
    assert.throws(
      () => arns.imageName(caller, other),
      (e: unknown) => isCubbyError(e, 'IMAGE_NOT_FOUND'),
      other,
    );
  }
  for (const bad of [
    'arn:aws:lambda:local:12:microvm-image:app',
    'arn:aws:s3:::b',
    'a b',
    'x'.repeat(65),
    'arn:aws:lambda:local:123456789012:microvm-image:a/b',
  ]) {
    assert.throws(
      () => arns.imageName(caller, bad),
      (e: unknown) => isCubbyError(e, 'CUBBY_VALIDATION'),
      bad,
    );
  }
});

test('managed images live in account aws; microVMs have their own ARN form', () => {
  assert.equal(arns.managedImage('debian-12-python'), 'arn:aws:lambda:local:aws:microvm-image:debian-12-python');
  assert.equal(arns.managedImageName('arn:aws:lambda:local:aws:microvm-image:debian-12-python'), 'debian-12-python');
  assert.throws(
    () => arns.managedImageName('arn:aws:lambda:local:123456789012:microvm-image:debian-12-python'),
    (e: unknown) => isCubbyError(e, 'IMAGE_BASE_NOT_FOUND'),
  );
  assert.equal(arns.microvmId(caller, 'arn:aws:lambda:local:123456789012:microvm:abc'), 'abc');
  assert.throws(
    () => arns.microvmId(caller, 'arn:aws:lambda:local:999999999999:microvm:abc'),
    (e: unknown) => isCubbyError(e, 'MICROVM_NOT_FOUND'),
  );
  assert.deepEqual(arns.taggable(caller, 'arn:aws:lambda:local:123456789012:microvm:abc'), { kind: 'microvm', key: 'abc' });
  assert.deepEqual(arns.taggable(caller, 'arn:aws:lambda:local:123456789012:microvm-image:app'), { kind: 'image', key: 'app' });
  assert.throws(
    () => arns.taggable(caller, 'app'),
    (e: unknown) => isCubbyError(e, 'CUBBY_VALIDATION'),
  );
});
