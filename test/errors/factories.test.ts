/** Error factories: one code and one message template per repeated error, texts as clients read them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CubbyError, createError, errors, isCubbyError } from '../../src/errors/index.js';

test('a factory fills its template in order and carries its code and kind', () => {
  const e = errors.microvmNotFound('abc123');
  assert.ok(e instanceof CubbyError);
  assert.ok(isCubbyError(e, 'MICROVM_NOT_FOUND'));
  assert.equal(e.kind, 'not_found');
  assert.equal(e.message, 'microVM abc123 not found');
  assert.equal(errors.microvmNotFound.code, 'MICROVM_NOT_FOUND');
  assert.equal(errors.imageVersionNotFound('app', '1.2').message, 'image app has no version 1.2');
  assert.equal(
    errors.microvmNotRunning('m1', 'SUSPENDED', 'logs').message,
    'microVM m1 is SUSPENDED; logs are read from a running microVM',
  );
  assert.equal(errors.imageNotFound('app').message, 'image app not found');
  assert.equal(errors.imageBuildNotFound('b9').message, 'build b9 not found');
});

test('an image being deleted is an image conflict, not a microVM one', () => {
  const e = errors.imageDeleting('app');
  assert.equal(e.code, 'IMAGE_DELETING');
  assert.equal(e.kind, 'conflict');
  assert.equal(e.message, 'image app is being deleted');
});

test('createError: numbers are written as text; every placeholder is filled, none left over', () => {
  const f = createError('HOST_CAPACITY', 'host full: %s of %s');
  const e = f(3, 3);
  assert.equal(e.message, 'host full: 3 of 3');
  assert.equal(e.code, 'HOST_CAPACITY');
  assert.equal(e.kind, 'throttled');
  assert.equal(f.template, 'host full: %s of %s');
});
