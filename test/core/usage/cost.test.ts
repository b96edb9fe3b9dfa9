/** Cost arithmetic, price and pattern parsing of usage metering. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { costOf, patternCost } from '../../../src/core/usage/cost.js';
import { DEFAULT_PRICES, GIB, SECONDS_PER_MONTH, parsePrices, withPrices } from '../../../src/core/usage/prices.js';
import { parsePattern } from '../../../src/core/usage/pattern.js';
import { isCubbyError } from '../../../src/errors/index.js';

const P = { currency: 'USD', vcpuSecond: 0.001, gibSecond: 0.0001, snapshotGibMonth: 2 };
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

test('RUNNING pays baseline vCPU and memory per second; SUSPENDED pays snapshot storage only', () => {
  const c = costOf({ runningSeconds: 100, suspendedSeconds: 0 }, { vcpus: 2, memoryMiB: 512, snapshotBytes: 10 * GIB }, P);
  close(c.vcpu, 100 * 2 * 0.001);
  close(c.memory, 100 * 0.5 * 0.0001);
  close(c.storage, 0);
  close(c.total, 0.2 + 0.005);

  const s = costOf({ runningSeconds: 0, suspendedSeconds: SECONDS_PER_MONTH / 2 }, { vcpus: 2, memoryMiB: 512, snapshotBytes: 3 * GIB }, P);
  close(s.vcpu + s.memory, 0);
  close(s.storage, 3 * 0.5 * 2);
  close(s.total, 3);
});

test('a day pattern: active and idle are billed alike, suspended much less; compared with never suspending', () => {
  const sizing = { vcpus: 1, memoryMiB: 1024, snapshotBytes: GIB };
  const d = patternCost({ activeSeconds: 2 * 3600, idleSeconds: 6 * 3600, suspendedSeconds: 16 * 3600 }, sizing, P);
  close(d.running.total, 7200 * (0.001 + 0.0001));
  close(d.idle.total, 21600 * (0.001 + 0.0001));
  close(d.suspended.total, ((16 * 3600) / SECONDS_PER_MONTH) * 2);
  close(d.total, d.running.total + d.idle.total + d.suspended.total);
  close(d.alwaysRunning, 24 * 3600 * 0.0011);
  assert.ok(d.total < d.alwaysRunning);
});

test('prices parse from "name=value" lists and override the defaults; bad input is a validation error', () => {
  assert.deepEqual(parsePrices('vcpuSecond=0.5, gibSecond=0.25,currency=eur'), { vcpuSecond: 0.5, gibSecond: 0.25, currency: 'EUR' });
  const p = withPrices(parsePrices('snapshotGibMonth=0'));
  assert.equal(p.snapshotGibMonth, 0);
  assert.equal(p.vcpuSecond, DEFAULT_PRICES.vcpuSecond);
  for (const bad of ['cpu=1', 'vcpuSecond=-1', 'vcpuSecond=abc', 'gibSecond', 'currency=12']) {
    assert.throws(
      () => parsePrices(bad),
      (e: unknown) => isCubbyError(e, 'CUBBY_VALIDATION'),
      bad,
    );
  }
});

test('patterns parse with units and must fit in a day', () => {
  assert.deepEqual(parsePattern('active=2h,idle=30m,suspended=90'), { activeSeconds: 7200, idleSeconds: 1800, suspendedSeconds: 90 });
  assert.deepEqual(parsePattern('suspended=1.5h'), { activeSeconds: 0, idleSeconds: 0, suspendedSeconds: 5400 });
  for (const bad of ['active=2x', 'busy=1h', 'active=20h,idle=5h']) {
    assert.throws(
      () => parsePattern(bad),
      (e: unknown) => isCubbyError(e, 'CUBBY_VALIDATION'),
      bad,
    );
  }
});
