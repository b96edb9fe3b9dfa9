/**
 * The error map, seen from the official client: each Cubby error kind arrives as the exception
 * class (or AWS error name) with the status the model declares; bugs are masked. Also: which
 * routes need a signature.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import {
  AccessDeniedException,
  GetMicrovmCommand,
  InternalServerException,
  LambdaMicrovmsServiceException,
  ServiceException,
  ServiceQuotaExceededException,
  ThrottlingException,
} from '@aws-sdk/client-lambda-microvms';
import { CubbyError, type ErrorCode } from '../../../src/errors/index.js';
import { createLambdaApi, publicRoute } from '../../../src/api/lambda/index.js';
import { startFakeCore } from '../../support/fakes/core.js';
import { startHarness } from './support/harness.js';

test('each error kind reaches the client as its exception, with the modeled status', async (t) => {
  const h = await startHarness({ logger: pino({ level: 'silent' }) });
  t.after(() => h.close());
  const c = h.client();
  let next: unknown;
  h.core.microvms.get = async () => {
    throw next;
  };
  const cases: Array<[unknown, new (...a: never[]) => LambdaMicrovmsServiceException, number, string]> = [
    [new CubbyError('MICROVM_LIMIT', 'too many', { details: { retryAfterSeconds: 7 } }), ThrottlingException, 429, 'too many'],
    [new CubbyError('NETWORK_POOL_EXHAUSTED', 'no slots'), ServiceQuotaExceededException, 402, 'no slots'],
    [new CubbyError('RUNTIME_START_FAILED', 'runsc exited 1'), ServiceException, 503, 'runsc exited 1'],
    [new CubbyError('TOKEN_PORT_DENIED', 'port not allowed'), AccessDeniedException, 403, 'port not allowed'],
    [new CubbyError('STORE_MIGRATION_FAILED', 'table x at /var/lib/cubby'), InternalServerException, 500, 'An internal error occurred.'],
    [new TypeError('cannot read properties of undefined'), InternalServerException, 500, 'An internal error occurred.'],
  ];
  for (const [thrown, Exception, status, message] of cases) {
    next = thrown;
    const err = await c.send(new GetMicrovmCommand({ microvmIdentifier: 'abcdefghij0123456789' })).catch((e: unknown) => e);
    assert.ok(err instanceof Exception, `${String(thrown)} -> ${String(err)}`);
    assert.equal(err.$metadata.httpStatusCode, status);
    assert.equal(err.message, message);
    assert.match(String(err.$metadata.requestId), /^[0-9a-f-]{36}$/);
  }
  next = new CubbyError('MICROVM_LIMIT', 'slow down', { details: { retryAfterSeconds: 7 } });
  const throttled = await c.send(new GetMicrovmCommand({ microvmIdentifier: 'abcdefghij0123456789' })).catch((e: unknown) => e);
  assert.ok(throttled instanceof ThrottlingException);
  assert.equal(throttled.retryAfterSeconds, 7, 'Retry-After header becomes retryAfterSeconds');
  next = new CubbyError('RUNTIME_START_FAILED' satisfies ErrorCode, 'x');
  const unavailable = await c.send(new GetMicrovmCommand({ microvmIdentifier: 'abcdefghij0123456789' })).catch((e: unknown) => e);
  assert.ok(unavailable instanceof ServiceException);
  assert.equal(unavailable.Type, 'Service');
  assert.equal(unavailable.$fault, 'server');
});

test('routes the host adds need a signature unless registered with publicRoute', async (t) => {
  const w = await startFakeCore();
  t.after(() => w.close());
  const app = createLambdaApi({ core: w.core.services, lookupKey: async () => undefined, endpointFor: (id) => id });
  t.after(() => app.close());
  app.get('/metrics', publicRoute, async () => 'up 1\n');
  app.get('/private', async () => 'secret');
  const open = await app.inject({ method: 'GET', url: '/metrics' });
  assert.deepEqual([open.statusCode, open.body], [200, 'up 1\n']);
  const closed = await app.inject({ method: 'GET', url: '/private' });
  assert.deepEqual([closed.statusCode, closed.headers['x-amzn-errortype']], [403, 'MissingAuthenticationTokenException']);
});
