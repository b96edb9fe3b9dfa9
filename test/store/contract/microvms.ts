/** Contract: microVM records and the compare-and-set state transition. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Microvm } from '../../../src/core/model.js';
import { isCubbyError } from '../../../src/errors/index.js';
import { microvmInput, seed } from './fixtures.js';
import { fresh, type MakeStore, rejectsWith } from './harness.js';

export function microvmTests(make: MakeStore): void {
  test('microVMs: insert, round-trip, patch non-state members', async (t) => {
    const { store } = await fresh(t, make);
    const { tenant, image } = await seed(store, 'acme');
    const input = microvmInput(tenant.id, image.id, '1.0', {
      id: 'abcdefghij0123456789',
      idlePolicy: { maxIdleDurationSeconds: 60, suspendedDurationSeconds: 0, autoResumeEnabled: true },
      runHookPayload: '{"x":1}',
      egress: { mode: 'internet' },
      stateReason: 'launching',
    });
    const m = await store.insertMicrovm(input);
    assert.equal(m.id, 'abcdefghij0123456789');
    assert.equal(m.runningSeconds, 0);
    assert.equal(m.suspendedSeconds, 0);
    assert.ok(m.updatedAt instanceof Date);
    assert.deepEqual(m.idlePolicy, input.idlePolicy);
    assert.deepEqual(m.extra, input.extra);
    assert.deepEqual(m.startedAt, input.startedAt, 'millisecond dates round-trip');
    assert.deepEqual(await store.getMicrovm(tenant.id, m.id), m);
    await rejectsWith(store.insertMicrovm(input), 'STORE_CONFLICT');
    await rejectsWith(store.insertMicrovm({ ...input, id: 'UPPER-case' }), 'CUBBY_VALIDATION');
    await rejectsWith(store.insertMicrovm(microvmInput('tn_missing', image.id)), 'TENANT_NOT_FOUND');
    const generated = await store.insertMicrovm(microvmInput(tenant.id, image.id));
    assert.match(generated.id, /^[a-z0-9]{20}$/);

    const at = new Date('2025-06-01T13:00:00Z');
    const up = await store.updateMicrovm(m.id, { lastActivityAt: at, checkpointPath: '/ck', runningSeconds: 12.5, stateReason: null });
    assert.deepEqual(up.lastActivityAt, at);
    assert.equal(up.checkpointPath, '/ck');
    assert.equal(up.runningSeconds, 12.5);
    assert.equal('stateReason' in up, false);
    assert.equal(up.state, 'PENDING');
    const cleared = await store.updateMicrovm(m.id, { checkpointPath: null, idlePolicy: null });
    assert.equal(cleared.checkpointPath, undefined);
    assert.equal(cleared.idlePolicy, undefined);
    await rejectsWith(store.updateMicrovm(m.id, { state: 'RUNNING' } as never), 'CUBBY_VALIDATION');
    await rejectsWith(store.updateMicrovm(m.id, { tenantId: 'tn_x' } as never), 'CUBBY_VALIDATION');
    await rejectsWith(store.updateMicrovm(m.id, { lastActivityAt: null } as never), 'CUBBY_VALIDATION');
    await rejectsWith(store.updateMicrovm('zzzzzzzzzzzzzzzzzzzz', { checkpointPath: '/x' }), 'MICROVM_NOT_FOUND');
    assert.equal((await store.getMicrovm(tenant.id, m.id))?.state, 'PENDING', 'refused patches change nothing');

    await store.setTags(tenant.id, 'microvm', m.id, { a: 'b' });
    await store.deleteMicrovm(m.id);
    assert.equal(await store.getMicrovmAny(m.id), undefined);
    assert.deepEqual(await store.listTags(tenant.id, 'microvm', m.id), {});
    await rejectsWith(store.deleteMicrovm(m.id), 'MICROVM_NOT_FOUND');
  });

  test('microVMs: transition is a compare-and-set on state', async (t) => {
    const { store } = await fresh(t, make);
    const { microvm } = await seed(store, 'acme');
    const changedAt = new Date('2025-06-01T12:00:05.007Z');
    const running = await store.transitionMicrovm(microvm.id, ['PENDING'], {
      state: 'RUNNING',
      stateReason: 'run hook answered',
      stateChangedAt: changedAt,
    });
    assert.equal(running.state, 'RUNNING');
    assert.equal(running.stateReason, 'run hook answered');
    assert.deepEqual(running.stateChangedAt, changedAt);
    assert.ok(running.updatedAt.getTime() >= microvm.updatedAt.getTime());

    await assert.rejects(store.transitionMicrovm(microvm.id, ['PENDING', 'SUSPENDED'], { state: 'RUNNING' }), (e: unknown) => {
      assert.ok(isCubbyError(e, 'MICROVM_BAD_STATE'));
      assert.equal(e.kind, 'conflict');
      assert.equal(e.details?.current, 'RUNNING');
      return true;
    });
    await rejectsWith(store.transitionMicrovm(microvm.id, [], { state: 'TERMINATED' }), 'MICROVM_BAD_STATE');
    await rejectsWith(store.transitionMicrovm('zzzzzzzzzzzzzzzzzzzz', ['RUNNING'], { state: 'SUSPENDING' }), 'MICROVM_NOT_FOUND');
    const refused = await store.getMicrovmAny(microvm.id);
    assert.deepEqual(refused, running, 'a refused transition changes nothing (not even the patch)');

    const at = new Date('2025-06-01T14:00:00Z');
    const suspended = await store.transitionMicrovm(microvm.id, ['RUNNING', 'SUSPENDING'], {
      state: 'SUSPENDED',
      suspendedAt: at,
      checkpointPath: '/ck/1',
      runningSeconds: 42,
      stateReason: null,
    });
    assert.equal(suspended.state, 'SUSPENDED');
    assert.deepEqual(suspended.suspendedAt, at);
    assert.equal(suspended.checkpointPath, '/ck/1');
    assert.equal(suspended.stateReason, undefined);
    assert.deepEqual(suspended.stateChangedAt, changedAt, 'members the patch does not name are kept');
    assert.deepEqual(
      (await store.listMicrovmsByState(['SUSPENDED'])).map((m) => m.id),
      [microvm.id],
    );
    assert.deepEqual(await store.listMicrovmsByState(['RUNNING']), []);
  });

  test('microVMs: of concurrent transitions from the same state exactly one wins', async (t) => {
    const h = await fresh(t, make);
    const { store } = h;
    const { tenant, image } = await seed(store, 'acme');
    const targets = ['RUNNING', 'TERMINATING', 'SUSPENDING', 'TERMINATED'] as const;
    for (let round = 0; round < 5; round++) {
      const m = await store.insertMicrovm(microvmInput(tenant.id, image.id));
      const results = await Promise.allSettled(targets.map((state) => store.transitionMicrovm(m.id, ['PENDING'], { state })));
      const won = results.filter((r): r is PromiseFulfilledResult<Microvm> => r.status === 'fulfilled');
      assert.equal(won.length, 1, 'exactly one winner');
      for (const r of results) if (r.status === 'rejected') assert.ok(isCubbyError(r.reason, 'MICROVM_BAD_STATE'));
      assert.equal((await store.getMicrovmAny(m.id))?.state, won[0]?.value.state);
    }
    if (!h.reopen) return;
    // Two handles, as the daemon and the operator CLI hold.
    const other = await h.reopen();
    try {
      for (let round = 0; round < 5; round++) {
        const m = await store.insertMicrovm(microvmInput(tenant.id, image.id));
        const results = await Promise.allSettled([
          store.transitionMicrovm(m.id, ['PENDING'], { state: 'RUNNING' }),
          other.transitionMicrovm(m.id, ['PENDING'], { state: 'TERMINATED' }),
          store.tx((tx) => tx.transitionMicrovm(m.id, ['PENDING'], { state: 'TERMINATING' })),
          other.tx((tx) => tx.transitionMicrovm(m.id, ['PENDING'], { state: 'SUSPENDING' })),
        ]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one winner across handles');
        for (const r of results) if (r.status === 'rejected') assert.ok(isCubbyError(r.reason, 'MICROVM_BAD_STATE'), String(r.reason));
      }
    } finally {
      await other.close();
    }
  });
}
