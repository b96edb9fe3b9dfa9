/**
 * The policy clock (scheduler.ts) over the real core with a 20 ms tick: idle microVMs are
 * suspended, then terminated after their suspended duration; maximum duration ends any
 * microVM; open requests keep one awake; a stopped sandbox ends its microVM; old TERMINATED
 * records are forgotten.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { PolicyScheduler } from '../../../src/core/microvms/scheduler.js';
import { silentLogger } from '../../../src/core/ports/observer.js';
import { eventually, readyImage, startFakeCore, type FakeWorld } from '../../support/fakes/core.js';

const state = async (w: FakeWorld, id: string) => (await w.store.getMicrovmAny(id))?.state;

describe('idle policy and maximum duration', () => {
  let w: FakeWorld | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  test('idle -> SUSPENDED (suspend hook, checkpoint), then suspended too long -> TERMINATED', async () => {
    w = await startFakeCore();
    const image = await readyImage(w);
    await w.core.start();
    const m = await w.core.services.microvms.run(w.caller, {
      image,
      idlePolicy: { maxIdleDurationSeconds: 0.1, suspendedDurationSeconds: 0.3, autoResumeEnabled: true },
    });
    const s = await eventually(
      async () => (await w!.store.getMicrovmAny(m.id))?.state === 'SUSPENDED' && w!.store.getMicrovmAny(m.id),
      'idle suspend',
    );
    assert.match(s?.stateReason ?? '', /idle for 0.1 s/);
    assert.equal(await w.runtime.get(m.id), undefined);
    const t = await eventually(
      async () => (await state(w!, m.id)) === 'TERMINATED' && w!.store.getMicrovmAny(m.id),
      'suspended-duration terminate',
    );
    assert.match(t?.stateReason ?? '', /suspended for 0.3 s/);
    assert.deepEqual(w.path(m.id), ['PENDING', 'RUNNING', 'SUSPENDING', 'SUSPENDED', 'TERMINATING', 'TERMINATED']);
  });

  test('suspendedDurationSeconds 0: idle terminates at once', async () => {
    w = await startFakeCore();
    const image = await readyImage(w);
    await w.core.start();
    const m = await w.core.services.microvms.run(w.caller, {
      image,
      idlePolicy: { maxIdleDurationSeconds: 0.1, suspendedDurationSeconds: 0, autoResumeEnabled: false },
    });
    await eventually(async () => (await state(w!, m.id)) === 'TERMINATED', 'idle terminate');
    assert.ok(!w.path(m.id).includes('SUSPENDED'));
  });

  test('an open request keeps a microVM awake; idleness counts from its end', async () => {
    w = await startFakeCore();
    const image = await readyImage(w);
    await w.core.start();
    const m = await w.core.services.microvms.run(w.caller, {
      image,
      idlePolicy: { maxIdleDurationSeconds: 0.1, suspendedDurationSeconds: 60, autoResumeEnabled: true },
    });
    w.core.manager.activity.record(m.id, 'request-start');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await state(w, m.id), 'RUNNING', 'not idle while a request is open');
    w.core.manager.activity.record(m.id, 'request-end');
    await eventually(async () => (await state(w!, m.id)) === 'SUSPENDED', 'suspend after the request ended');
  });

  test('maximum duration terminates a RUNNING and a SUSPENDED microVM', async () => {
    w = await startFakeCore();
    const image = await readyImage(w);
    const a = await w.core.services.microvms.run(w.caller, { image, maximumDurationSeconds: 0.3 });
    const b = await w.core.services.microvms.run(w.caller, { image, maximumDurationSeconds: 0.3 });
    await w.core.services.microvms.suspend(w.caller, b.id);
    await w.core.start();
    for (const id of [a.id, b.id]) {
      const t = await eventually(async () => (await state(w!, id)) === 'TERMINATED' && w!.store.getMicrovmAny(id), 'max duration');
      assert.match(t?.stateReason ?? '', /maximum duration of 0.3 s/);
    }
    const c = await w.core.services.microvms.run(w.caller, { image });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await state(w, c.id), 'RUNNING', 'without a policy a microVM runs on');
  });

  test('a RUNNING microVM whose sandbox stopped is terminated with the reason', async () => {
    w = await startFakeCore();
    const image = await readyImage(w);
    const m = await w.core.services.microvms.run(w.caller, { image });
    const other = await w.core.services.microvms.run(w.caller, { image });
    w.runtime.kill(m.id);
    const sched = new PolicyScheduler({
      store: w.store,
      manager: w.core.manager,
      runtime: w.runtime,
      log: silentLogger,
      config: { tickMs: 20, livenessMs: 20, terminatedRetentionMs: 3_600_000 },
    });
    sched.start();
    try {
      const t = await eventually(
        async () => (await state(w!, m.id)) === 'TERMINATED' && w!.store.getMicrovmAny(m.id),
        'liveness terminate',
      );
      assert.match(t?.stateReason ?? '', /app exited or was killed/);
      assert.equal(await state(w, other.id), 'RUNNING');
    } finally {
      sched.stop();
    }
  });

  test('TERMINATED records older than the retention are deleted', async () => {
    w = await startFakeCore({ config: { terminatedRetentionMs: 1 } });
    const image = await readyImage(w);
    const m = await w.core.services.microvms.run(w.caller, { image });
    await w.core.services.microvms.terminate(w.caller, m.id);
    await new Promise((r) => setTimeout(r, 10));
    await w.core.start();
    await eventually(async () => !(await w!.store.getMicrovmAny(m.id)), 'gc');
  });
});
