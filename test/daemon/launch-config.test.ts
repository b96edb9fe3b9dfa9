/**
 * serve's launch flags: whole numbers reach the core's launch limits (concurrency defaults to 2
 * per core); bad ones stop the daemon naming the flag.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import { daemonConfig } from '../../src/daemon/config.js';

test('--launch-concurrency, --launch-queue and --launch-queue-per-tenant reach the launch limits; bad values are refused', () => {
  assert.deepEqual(
    daemonConfig({ dataDir: '/tmp/x' }).core.launches,
    { concurrency: Math.max(2, 2 * os.availableParallelism()) },
    'absent: 2 launches per core, the core defaults for the queue',
  );
  assert.deepEqual(daemonConfig({ dataDir: '/tmp/x', launchConcurrency: 2, launchQueue: 0, launchQueuePerTenant: 3 }).core.launches, {
    concurrency: 2,
    maxQueued: 0,
    maxQueuedPerTenant: 3,
  });
  assert.throws(
    () => daemonConfig({ dataDir: '/tmp/x', launchConcurrency: 0 }),
    /--launch-concurrency: expected a whole number >= 1, got 0/,
  );
  assert.throws(
    () => daemonConfig({ dataDir: '/tmp/x', launchQueue: Number('x') }),
    /--launch-queue: expected a whole number >= 0, got NaN/,
  );
  assert.throws(() => daemonConfig({ dataDir: '/tmp/x', launchQueuePerTenant: 1.5 }), /--launch-queue-per-tenant: .* got 1.5/);
});
