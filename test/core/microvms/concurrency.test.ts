/**
 * Concurrent suspend, resume and terminate on one microVM are serialised: each runs from the
 * state the previous one left, the refused ones are MICROVM_BAD_STATE, and the final state
 * agrees with the sandboxes.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { isCubbyError } from '../../../src/errors/index.js';
import { readyImage, startFakeCore, type FakeWorld } from '../../support/fakes/core.js';

describe('concurrent lifecycle calls on one microVM', () => {
  let w: FakeWorld;
  let image: string;
  beforeEach(async () => {
    w = await startFakeCore();
    image = await readyImage(w);
  });
  afterEach(() => w.close());

  test('suspend, resume, suspend and terminate at once: serialised in call order, ends TERMINATED', async () => {
    const m = await w.core.services.microvms.run(w.caller, { image });
    w.runtime.faults.delay('checkpoint', 20).delay('restore', 20);
    const mv = w.core.services.microvms;
    const results = await Promise.allSettled([
      mv.suspend(w.caller, m.id),
      mv.resume(w.caller, m.id),
      mv.suspend(w.caller, m.id),
      mv.terminate(w.caller, m.id),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
    );
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value.state : '')),
      ['SUSPENDED', 'RUNNING', 'SUSPENDED', 'TERMINATED'],
    );
    assert.deepEqual(w.path(m.id), [
      'PENDING',
      'RUNNING',
      'SUSPENDING',
      'SUSPENDED',
      'PENDING',
      'RUNNING',
      'SUSPENDING',
      'SUSPENDED',
      'TERMINATING',
      'TERMINATED',
    ]);
    assert.deepEqual(w.runtime.ids(), []);
  });

  test('many racing suspends and resumes: one of each pair wins, the rest are BAD_STATE, state and sandbox agree', async () => {
    const m = await w.core.services.microvms.run(w.caller, { image });
    const mv = w.core.services.microvms;
    const calls = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? mv.resume(w.caller, m.id) : mv.suspend(w.caller, m.id)));
    const results = await Promise.allSettled(calls);
    for (const r of results) {
      if (r.status === 'rejected') assert.ok(isCubbyError(r.reason, 'MICROVM_BAD_STATE'), String(r.reason));
    }
    const states = w.path(m.id);
    for (let i = 1; i < states.length; i++) {
      const ok = new Set(['PENDING>RUNNING', 'RUNNING>SUSPENDING', 'SUSPENDING>SUSPENDED', 'SUSPENDED>PENDING']);
      assert.ok(ok.has(`${states[i - 1]}>${states[i]}`), `illegal step ${states[i - 1]} -> ${states[i]}`);
    }
    const final = await mv.get(w.caller, m.id);
    if (final.state === 'RUNNING') assert.equal((await w.runtime.get(m.id))?.state, 'running');
    else {
      assert.equal(final.state, 'SUSPENDED');
      assert.equal(await w.runtime.get(m.id), undefined);
    }
  });

  test('a terminate racing a slow suspend waits for it, and the policy clock does not double-act', async () => {
    const m = await w.core.services.microvms.run(w.caller, {
      image,
      idlePolicy: { maxIdleDurationSeconds: 0.05, suspendedDurationSeconds: 60, autoResumeEnabled: true },
    });
    const before = w.runtime.faults.calls.length;
    const gate = w.runtime.faults.gate('checkpoint');
    const suspending = w.core.services.microvms.suspend(w.caller, m.id);
    await gate.entered;
    // The policy clock only (start() would reconcile, which waits for the microVM's lock: boot time only).
    w.core.scheduler.start();
    const terminating = w.core.services.microvms.terminate(w.caller, m.id);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await w.store.getMicrovmAny(m.id))?.state, 'SUSPENDING', 'terminate waits for the suspend in flight');
    gate.open();
    assert.equal((await suspending).state, 'SUSPENDED');
    assert.equal((await terminating).state, 'TERMINATED');
    assert.equal(w.runtime.faults.calls.slice(before).filter((c) => c === 'checkpoint').length, 1, 'the idle policy did not suspend again');
  });
});
