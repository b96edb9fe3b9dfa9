/** The pure quota arithmetic. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkQuota, effectiveLimits, statusOf, validateOverrides } from '../../../src/core/quotas/check.js';
import { DEFAULT_QUOTAS, QUOTA_NAMES } from '../../../src/core/quotas/types.js';
import { isCubbyError, kindOf } from '../../../src/errors/index.js';

test('effective limits: an override wins, absent members keep the default, 0 is a limit', () => {
  const l = effectiveLimits(DEFAULT_QUOTAS, { running: 1, builds: 0 });
  assert.equal(l.running, 1);
  assert.equal(l.builds, 0);
  assert.equal(l.memoryMiB, DEFAULT_QUOTAS.memoryMiB);
  assert.deepEqual(effectiveLimits(DEFAULT_QUOTAS, undefined), DEFAULT_QUOTAS);
});

test("check: at the limit passes, past it refuses with the quota's code, kind quota, limit and use in the message", () => {
  checkQuota('running', 2, 1, 1);
  assert.throws(
    () => checkQuota('running', 2, 2, 1),
    (e: unknown) => {
      assert.ok(isCubbyError(e));
      assert.equal(e.code, 'QUOTA_RUNNING_MICROVMS');
      assert.equal(e.kind, 'quota');
      assert.match(e.message, /running microVMs.*limit 2, in use 2/);
      assert.deepEqual(e.details, { quota: 'running', limit: 2, used: 2, adding: 1 });
      return true;
    },
  );
  assert.throws(
    () => checkQuota('memoryMiB', 4096, 3000, 2048),
    /QUOTA|memory of running microVMs.*limit 4096, in use 3000; this needs 2048 more/,
  );
  // adding 0: only "already over" refuses (e.g. the operator lowered the limit).
  checkQuota('suspended', 3, 3, 0);
  assert.throws(() => checkQuota('suspended', 3, 4, 0), /suspended microVMs.*over the limit/);
  assert.throws(() => checkQuota('builds', 0, 0, 1), /concurrent image builds.*limit 0/);
  for (const n of QUOTA_NAMES) {
    assert.throws(
      () => checkQuota(n, 0, 1, 1),
      (e: unknown) => isCubbyError(e) && kindOf(e.code) === 'quota',
    );
  }
});

test('status lists every quota with limit, use, unit and whether the tenant overrides it', () => {
  const usage = { running: 1, memoryMiB: 512, suspended: 0, checkpointBytes: 10, builds: 0, artifacts: 2, artifactBytes: 99 };
  const st = statusOf(effectiveLimits(DEFAULT_QUOTAS, { running: 3 }), usage, { running: 3 });
  assert.deepEqual(
    st.map((s) => s.name),
    [...QUOTA_NAMES],
  );
  assert.deepEqual(st[0], { name: 'running', limit: 3, used: 1, unit: 'count', overridden: true });
  assert.equal(st.find((s) => s.name === 'checkpointBytes')?.unit, 'bytes');
  assert.equal(st.find((s) => s.name === 'memoryMiB')?.overridden, false);
});

test('overrides must be whole numbers >= 0 of known quotas', () => {
  validateOverrides({ running: 0, artifactBytes: 2 ** 40 });
  assert.throws(() => validateOverrides({ running: -1 }), /whole number/);
  assert.throws(() => validateOverrides({ running: 1.5 }), /whole number/);
  assert.throws(() => validateOverrides({ nonsense: 1 } as never), /unknown quota/);
});
