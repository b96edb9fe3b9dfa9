/** Metered seconds: closed periods from the record, the open one up to now, windows. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meteredSeconds, overlapsWindow } from '../../../src/core/usage/accounting.js';
import type { Microvm } from '../../../src/core/model.js';

const T0 = Date.parse('2025-06-01T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);

function vm(over: Partial<Microvm>): Microvm {
  return {
    id: 'a'.repeat(20),
    tenantId: 't',
    imageId: 'i',
    imageVersion: '1.0',
    state: 'RUNNING',
    maximumDurationSeconds: 28800,
    egress: { mode: 'closed' },
    extra: {},
    startedAt: at(0),
    lastActivityAt: at(0),
    updatedAt: at(0),
    stateChangedAt: at(0),
    runningSeconds: 0,
    suspendedSeconds: 0,
    ...over,
  };
}

test('a RUNNING microVM counts its open period up to now on top of what it accumulated', () => {
  const m = vm({ state: 'RUNNING', stateChangedAt: at(300), runningSeconds: 100, suspendedSeconds: 200 });
  assert.deepEqual(meteredSeconds(m, at(360)), { runningSeconds: 160, suspendedSeconds: 200, prorated: false });
});

test('a SUSPENDED microVM counts its open period as suspended', () => {
  const m = vm({ state: 'SUSPENDED', stateChangedAt: at(100), suspendedAt: at(100), runningSeconds: 100 });
  assert.deepEqual(meteredSeconds(m, at(1000)), { runningSeconds: 100, suspendedSeconds: 900, prorated: false });
});

test('transitional and TERMINATED states add no open period', () => {
  for (const state of ['PENDING', 'SUSPENDING', 'TERMINATING', 'TERMINATED'] as const) {
    const m = vm({
      state,
      stateChangedAt: at(100),
      runningSeconds: 60,
      suspendedSeconds: 40,
      ...(state === 'TERMINATED' ? { terminatedAt: at(100) } : {}),
    });
    assert.deepEqual(meteredSeconds(m, at(500)), { runningSeconds: 60, suspendedSeconds: 40, prorated: false }, state);
  }
});

test('a window clips the open period exactly and prorates the closed span', () => {
  // Closed span [0, 100] held 100 s running; open RUNNING period since 100.
  const m = vm({ state: 'RUNNING', stateChangedAt: at(100), runningSeconds: 100 });
  assert.deepEqual(meteredSeconds(m, at(200), { from: at(150) }), { runningSeconds: 50, suspendedSeconds: 0, prorated: false });
  assert.deepEqual(meteredSeconds(m, at(200), { from: at(50), to: at(120) }), {
    runningSeconds: 50 + 20,
    suspendedSeconds: 0,
    prorated: true,
  });
  // A window in the future of now does not count time that has not happened.
  assert.deepEqual(meteredSeconds(m, at(200), { to: at(10_000) }), { runningSeconds: 200, suspendedSeconds: 0, prorated: false });
});

test('microVMs outside the window are left out', () => {
  const done = vm({ state: 'TERMINATED', startedAt: at(0), terminatedAt: at(100), stateChangedAt: at(100), runningSeconds: 100 });
  assert.equal(overlapsWindow(done, at(1000), { from: at(200) }), false);
  assert.equal(overlapsWindow(done, at(1000), { from: at(50) }), true);
  assert.equal(overlapsWindow(vm({ startedAt: at(500) }), at(1000), { to: at(400) }), false);
  assert.equal(overlapsWindow(vm({ startedAt: at(500) }), at(1000)), true);
});
