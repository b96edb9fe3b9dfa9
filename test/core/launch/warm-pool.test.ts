/**
 * The launcher's warm pool over the real core: clones restored ahead are handed out once each,
 * refilled, never shared; one clone per pool runs, the spares stay frozen until handed out;
 * another egress or version restores directly; a broken snapshot disables the pool;
 * deactivating a version or stopping the core destroys its clones.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { eventually, readyImage, startFakeCore, type FakeWorld } from '../../support/fakes/core.js';

const pooled = (w: FakeWorld) => [...w.host.sandboxes.values()].filter((s) => s.labels.pool === 'warm').map((s) => s.id);

describe('warm pool hand-out', () => {
  let w: FakeWorld | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  test('the first launch fills the pool; later launches take a pooled clone once, and it is refilled', async () => {
    w = await startFakeCore({ config: { warmPoolSize: 2 } });
    const image = await readyImage(w);
    const first = await w.core.services.microvms.run(w.caller, { image });
    assert.equal(w.core.launcher.pooledIds().includes(first.id), false);
    await eventually(() => w!.core.launcher.pooledIds().length === 2, 'the pool to fill');
    const ready = w.core.launcher.pooledIds();
    const restoresBefore = w.runtime.faults.calls.filter((c) => c === 'restore').length;
    const second = await w.core.services.microvms.run(w.caller, { image, runHookPayload: 'p' });
    assert.ok(ready.includes(second.id), 'handed a pooled clone: its id becomes the microVM id');
    assert.equal(w.core.launcher.pooledIds().includes(second.id), false, 'and it leaves the pool');
    assert.deepEqual(
      w.hooks.calls.filter((c) => c.hook === 'run').at(-1)?.body,
      { microvmId: second.id, runHookPayload: 'p' },
      'the run hook still runs',
    );
    const third = await w.core.services.microvms.run(w.caller, { image });
    assert.notEqual(third.id, second.id);
    assert.ok(ready.includes(third.id), 'the second clone goes to the next launch');
    await eventually(() => w!.core.launcher.pooledIds().length === 2, 'the pool to refill');
    assert.ok(w.runtime.faults.calls.filter((c) => c === 'restore').length > restoresBefore, 'refilled by restores');
    await w.core.services.microvms.terminate(w.caller, second.id);
    assert.equal(w.core.launcher.pooledIds().includes(second.id), false, 'a used clone never returns to the pool');
  });

  test('another egress restores directly; a refill failure disables the pool; launches still work', async () => {
    w = await startFakeCore({ config: { warmPoolSize: 1 } });
    const image = await readyImage(w);
    await w.core.services.microvms.run(w.caller, { image });
    await eventually(() => w!.core.launcher.pooledIds().length === 1, 'the pool to fill');
    const pool = w.core.launcher.pooledIds();
    const open = await w.core.services.microvms.run(w.caller, { image, egress: { mode: 'internet' } });
    assert.ok(!pool.includes(open.id), 'a clone restored with the image egress is never handed to another egress');
    assert.deepEqual(w.host.sandboxes.get(open.id)?.egress, { mode: 'internet' });
    w.runtime.faults.fail('restore', 'RUNTIME_RESTORE_FAILED', {
      when: (s) => (s as { labels?: Record<string, string> }).labels?.pool === 'warm',
    });
    const taken = await w.core.services.microvms.run(w.caller, { image });
    assert.ok(pool.includes(taken.id));
    await eventually(
      () => !w!.runtime.faults.calls.slice(-5).includes('restore') || w!.core.launcher.pooledIds().length === 0,
      'the refill attempt',
    );
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(w.core.launcher.pooledIds(), []);
    assert.equal((await w.core.services.microvms.run(w.caller, { image })).state, 'RUNNING', 'launches restore directly');
  });

  test('deactivating the version and stopping the core destroy the pooled clones', async () => {
    w = await startFakeCore({ config: { warmPoolSize: 2 } });
    const image = await readyImage(w);
    await w.core.services.microvms.run(w.caller, { image });
    await eventually(() => pooled(w!).length === 2, 'the pool to fill');
    await w.core.services.images.setVersionStatus(w.caller, image, '1.0', 'INACTIVE');
    assert.deepEqual(pooled(w), []);
    await w.core.services.images.setVersionStatus(w.caller, image, '1.0', 'ACTIVE');
    await w.core.services.microvms.run(w.caller, { image });
    await eventually(() => pooled(w!).length === 2, 'the pool to fill again');
    await w.core.stop();
    assert.deepEqual(pooled(w), [], 'stop destroys the pool');
    assert.equal(w.runtime.ids('running').length, 2, 'microVMs keep running');
  });

  test('one clone per pool keeps running, the spares are frozen (no CPU) and thawed before their run hook', async () => {
    w = await startFakeCore({ config: { warmPoolSize: 3, launches: { refillIntervalMs: 0 } } });
    const image = await readyImage(w);
    await w.core.services.microvms.run(w.caller, { image });
    const states = () => w!.core.launcher.pooledIds().map((id) => w!.host.sandboxes.get(id)?.state);
    await eventually(() => states().length === 3, 'the pool to fill');
    await eventually(() => states().filter((s) => s === 'frozen').length === 2, 'the spares frozen');
    assert.deepEqual(states(), ['running', 'frozen', 'frozen'], 'the first clone runs, the spares are frozen');
    const ready = w.core.launcher.pooledIds();
    // The state of each sandbox when its run hook is called (a frozen one could not answer).
    const atRunHook = new Map<string, string | undefined>();
    const call = w.hooks.call.bind(w.hooks);
    w.hooks.call = (c) => {
      const sb = [...w!.host.sandboxes.values()].find((s) => s.address === c.address);
      if (c.hook === 'run' && sb) atRunHook.set(sb.id, sb.state);
      return call(c);
    };
    // Thaws take a while, so a background promotion cannot stand in for the thaw at hand-out.
    w.runtime.faults.delay('thaw', 50);
    const first = await w.core.services.microvms.run(w.caller, { image });
    assert.equal(first.id, ready[0], 'the running clone is handed out first');
    // A burst takes the frozen spares too: each is thawed before its run hook, and runs.
    const burst = await Promise.all([1, 2].map(() => w!.core.services.microvms.run(w!.caller, { image })));
    assert.deepEqual(burst.map((m) => m.id).sort(), [ready[1], ready[2]].sort(), 'the spares serve the burst');
    for (const m of [first, ...burst]) {
      assert.equal(m.state, 'RUNNING');
      assert.equal(atRunHook.get(m.id), 'running', `${m.id} ran when its run hook was called`);
      assert.equal(w.host.sandboxes.get(m.id)?.state, 'running');
    }
    await eventually(() => states().length === 3 && states().filter((s) => s === 'frozen').length === 2, 'the pool to refill');
    assert.equal(states().filter((s) => s === 'running').length, 1, 'again one running clone');
    // When the running clone is taken, a spare is thawed in the background to take its place.
    w.runtime.faults.delay('restore', 200);
    await w.core.services.microvms.run(w.caller, { image });
    await eventually(() => states().filter((s) => s === 'running').length === 1 && states().length === 2, 'a spare promoted');
  });

  test('a replayed clientToken gives back the pooled clone it took, leaking nothing', async () => {
    w = await startFakeCore({ config: { warmPoolSize: 1 } });
    const image = await readyImage(w);
    const a = await w.core.services.microvms.run(w.caller, { image, clientToken: 't' });
    await eventually(() => pooled(w!).length === 1, 'the pool to fill');
    const b = await w.core.services.microvms.run(w.caller, { image, clientToken: 't' });
    assert.equal(b.id, a.id);
    await eventually(() => pooled(w!).length === 1, 'the pool to refill');
    assert.equal(w.runtime.ids().length, 2, 'the microVM and one pooled clone: the replay destroyed the clone it leased');
  });
});
