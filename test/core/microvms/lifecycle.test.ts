/**
 * Every transition of the microVM state table (src/core/microvms/state-machine.ts), driven
 * through the REAL core over a real SQLite store and the fakes: the happy paths, each failure
 * path back to the state the table names, and refusals of actions from the wrong state.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { isCubbyError } from '../../../src/errors/index.js';
import { eventually, readyImage, startFakeCore, type FakeWorld } from '../../support/fakes/core.js';

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isCubbyError(e), String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe('microVM lifecycle over the real core', () => {
  let w: FakeWorld;
  let image: string;
  beforeEach(async () => {
    w = await startFakeCore();
    image = await readyImage(w);
  });
  afterEach(() => w.close());

  const mv = () => w.core.services.microvms;

  test('launch: PENDING -> RUNNING after the run hook, with the payload and the microVM id', async () => {
    const m = await mv().run(w.caller, { image, runHookPayload: 'hello' });
    assert.equal(m.state, 'RUNNING');
    assert.deepEqual(w.path(m.id), ['PENDING', 'RUNNING']);
    assert.equal((await w.runtime.get(m.id))?.state, 'running', 'the sandbox id is the microVM id');
    const run = w.hooks.calls.find((c) => c.hook === 'run');
    assert.deepEqual(run?.body, { microvmId: m.id, runHookPayload: 'hello' });
    assert.equal(run?.address, await w.runtime.address(m.id));
  });

  test('launch failure: PENDING -> TERMINATED with the reason; no sandbox is left', async () => {
    w.runtime.faults.fail('restore', 'RUNTIME_RESTORE_FAILED');
    await rejectsCode(mv().run(w.caller, { image }), 'RUNTIME_RESTORE_FAILED');
    w.hooks.faults.fail('run', 'HOOK_FAILED');
    await rejectsCode(mv().run(w.caller, { image }), 'HOOK_FAILED');
    const all = (await mv().list(w.caller, {})).items;
    assert.equal(all.length, 2);
    for (const m of all) {
      assert.equal(m.state, 'TERMINATED');
      assert.match(m.stateReason ?? '', /launch failed/);
      assert.deepEqual(w.path(m.id), ['PENDING', 'TERMINATED']);
    }
    assert.deepEqual(w.runtime.ids(), [], 'the run hook failure destroyed the restored sandbox');
  });

  test('suspend: RUNNING -> SUSPENDING -> SUSPENDED; the checkpoint is kept and the sandbox released', async () => {
    const m = await mv().run(w.caller, { image });
    const s = await mv().suspend(w.caller, m.id);
    assert.equal(s.state, 'SUSPENDED');
    assert.ok(s.checkpointPath && s.suspendedAt);
    assert.deepEqual(w.path(m.id), ['PENDING', 'RUNNING', 'SUSPENDING', 'SUSPENDED']);
    assert.equal(await w.runtime.get(m.id), undefined, 'the sandbox is released');
    await w.runtime.inspectCheckpoint(s.checkpointPath);
    assert.ok(w.hooks.names().includes('suspend'), 'the suspend hook ran first');
    assert.equal(w.fs.exists(w.core.manager.checkpointDir(m.id, 'next')), false, 'no half checkpoint remains');
  });

  for (const [what, inject] of [
    ['the checkpoint', (x: FakeWorld) => x.runtime.faults.fail('checkpoint', 'RUNTIME_CHECKPOINT_FAILED')],
    ['the suspend hook', (x: FakeWorld) => x.hooks.faults.fail('suspend', 'HOOK_FAILED')],
    ['the checkpoint move', (x: FakeWorld) => x.disk.faults.fail('replace', new Error('EIO'))],
  ] as const) {
    test(`suspend failure (${what}): SUSPENDING -> RUNNING, still serving, with the reason`, async () => {
      const m = await mv().run(w.caller, { image });
      inject(w);
      await rejectsCode(mv().suspend(w.caller, m.id), 'MICROVM_SUSPEND_FAILED');
      const now = await mv().get(w.caller, m.id);
      assert.equal(now.state, 'RUNNING');
      assert.match(now.stateReason ?? '', /suspend failed, still running/);
      assert.deepEqual(w.path(m.id), ['PENDING', 'RUNNING', 'SUSPENDING', 'RUNNING']);
      assert.equal((await w.runtime.get(m.id))?.state, 'running', 'a paused sandbox is resumed');
      assert.equal(w.fs.exists(w.core.manager.checkpointDir(m.id, 'next')), false);
      const again = await mv().suspend(w.caller, m.id);
      assert.equal(again.state, 'SUSPENDED', 'a later suspend works');
    });
  }

  test('resume: SUSPENDED -> PENDING -> RUNNING from the checkpoint; the checkpoint is then dropped', async () => {
    const m = await mv().run(w.caller, { image });
    await w.runtime.run(m.id, { args: ['sh', '-c', 'echo session > /root/s.txt'] });
    const s = await mv().suspend(w.caller, m.id);
    const r = await mv().resume(w.caller, m.id);
    assert.equal(r.state, 'RUNNING');
    assert.equal(r.checkpointPath, undefined);
    assert.deepEqual(w.path(m.id), ['PENDING', 'RUNNING', 'SUSPENDING', 'SUSPENDED', 'PENDING', 'RUNNING']);
    assert.equal((await w.runtime.run(m.id, { args: ['cat', '/root/s.txt'] })).stdout.toString(), 'session\n', 'the session continues');
    assert.ok(w.hooks.names().includes('resume'));
    assert.equal(w.fs.exists(s.checkpointPath ?? ''), false);
    assert.ok(r.suspendedSeconds >= 0 && r.runningSeconds >= 0);
  });

  for (const [what, inject, code] of [
    ['the restore', (x: FakeWorld) => x.runtime.faults.fail('restore', 'RUNTIME_RESTORE_FAILED'), 'MICROVM_RESUME_FAILED'],
    ['the resume hook', (x: FakeWorld) => x.hooks.faults.fail('resume', 'HOOK_FAILED'), 'MICROVM_RESUME_FAILED'],
  ] as const) {
    test(`resume failure (${what}): PENDING -> SUSPENDED, checkpoint kept, no sandbox left`, async () => {
      const m = await mv().run(w.caller, { image });
      const s = await mv().suspend(w.caller, m.id);
      inject(w);
      await rejectsCode(mv().resume(w.caller, m.id), code);
      const now = await mv().get(w.caller, m.id);
      assert.equal(now.state, 'SUSPENDED');
      assert.equal(now.checkpointPath, s.checkpointPath);
      assert.match(now.stateReason ?? '', /resume failed/);
      assert.deepEqual(w.path(m.id).slice(-3), ['SUSPENDED', 'PENDING', 'SUSPENDED']);
      assert.equal(await w.runtime.get(m.id), undefined);
      assert.equal((await mv().resume(w.caller, m.id)).state, 'RUNNING', 'a later resume works');
    });
  }

  test('resume of a SUSPENDED microVM whose checkpoint is damaged fails and stays SUSPENDED', async () => {
    const m = await mv().run(w.caller, { image });
    const s = await mv().suspend(w.caller, m.id);
    w.runtime.corruptCheckpoint(s.checkpointPath ?? '');
    await rejectsCode(mv().resume(w.caller, m.id), 'MICROVM_RESUME_FAILED');
    assert.equal((await mv().get(w.caller, m.id)).state, 'SUSPENDED');
  });

  test('terminate from RUNNING and from SUSPENDED: -> TERMINATING -> TERMINATED, nothing left', async () => {
    const a = await mv().run(w.caller, { image });
    const b = await mv().run(w.caller, { image });
    await mv().suspend(w.caller, b.id);
    const ta = await mv().terminate(w.caller, a.id);
    const tb = await mv().terminate(w.caller, b.id);
    for (const t of [ta, tb]) {
      assert.equal(t.state, 'TERMINATED');
      assert.ok(t.terminatedAt);
      assert.equal(await w.runtime.get(t.id), undefined);
      assert.equal(w.fs.exists(`${w.config.dataDir}/checkpoints/${t.id}`), false, 'its checkpoints are removed');
    }
    assert.deepEqual(w.path(a.id), ['PENDING', 'RUNNING', 'TERMINATING', 'TERMINATED']);
    assert.deepEqual(w.path(b.id).slice(-3), ['SUSPENDED', 'TERMINATING', 'TERMINATED']);
    assert.equal(w.hooks.names().filter((h) => h === 'terminate').length, 1, 'the terminate hook runs for a running microVM only');
    assert.equal((await mv().terminate(w.caller, a.id)).state, 'TERMINATED', 'terminating twice answers the same');
  });

  test('terminate goes on when the terminate hook fails', async () => {
    const m = await mv().run(w.caller, { image });
    w.hooks.faults.fail('terminate', 'HOOK_FAILED');
    assert.equal((await mv().terminate(w.caller, m.id)).state, 'TERMINATED');
  });

  test('terminate from PENDING and SUSPENDING (steps cut by a crash), before reconcile', async () => {
    w.runtime.faults.crash('restore', 'after');
    void mv()
      .run(w.caller, { image })
      .catch(() => undefined);
    const pending = await eventually(() => w.store.listMicrovmsByState(['PENDING']).then((l) => l[0]), 'a PENDING record');
    const m = await mv().run(w.caller, { image });
    w.runtime.faults.crash('checkpoint', 'before');
    void mv()
      .suspend(w.caller, m.id)
      .catch(() => undefined);
    await eventually(async () => (await w.store.getMicrovmAny(m.id))?.state === 'SUSPENDING', 'SUSPENDING');
    const next = w.restart();
    for (const id of [pending.id, m.id]) {
      const t = await next.core.manager.withLock(id, (steps) => steps.terminate('operator'));
      assert.equal(t.state, 'TERMINATED');
      assert.equal(await next.runtime.get(id), undefined);
    }
    assert.deepEqual(w.path(pending.id), ['PENDING', 'TERMINATING', 'TERMINATED']);
    assert.deepEqual(w.path(m.id).slice(-3), ['SUSPENDING', 'TERMINATING', 'TERMINATED']);
    w = next;
  });

  test('actions from the wrong state are MICROVM_BAD_STATE and change nothing', async () => {
    const m = await mv().run(w.caller, { image });
    await rejectsCode(mv().resume(w.caller, m.id), 'MICROVM_BAD_STATE');
    await mv().suspend(w.caller, m.id);
    await rejectsCode(mv().suspend(w.caller, m.id), 'MICROVM_BAD_STATE');
    await rejectsCode(mv().logs(w.caller, m.id), 'MICROVM_BAD_STATE');
    await mv().terminate(w.caller, m.id);
    await rejectsCode(mv().resume(w.caller, m.id), 'MICROVM_BAD_STATE');
    await rejectsCode(mv().suspend(w.caller, m.id), 'MICROVM_BAD_STATE');
    await rejectsCode(w.core.services.tokens.createAuthToken(w.caller, m.id, 5, 'all'), 'MICROVM_BAD_STATE');
    assert.equal((await mv().get(w.caller, m.id)).state, 'TERMINATED');
  });

  test('another tenant, unknown ids and images: not found', async () => {
    await w.close();
    w = await startFakeCore({ tenants: ['alpha', 'beta'] });
    image = await readyImage(w);
    const m = await mv().run(w.caller, { image });
    const beta = { tenant: w.tenants[1]! };
    await rejectsCode(mv().get(beta, m.id), 'MICROVM_NOT_FOUND');
    await rejectsCode(mv().suspend(beta, m.id), 'MICROVM_NOT_FOUND');
    await rejectsCode(mv().terminate(beta, m.id), 'MICROVM_NOT_FOUND');
    await rejectsCode(mv().run(beta, { image }), 'IMAGE_NOT_FOUND');
    await rejectsCode(mv().run(w.caller, { image, version: '9.9' }), 'IMAGE_VERSION_NOT_FOUND');
    assert.equal((await mv().get(w.caller, m.id)).state, 'RUNNING');
  });

  test('the active limit refuses a launch beyond maxActiveMicrovms', async () => {
    await w.close();
    w = await startFakeCore({ config: { maxActiveMicrovms: 1 } });
    image = await readyImage(w);
    const m = await mv().run(w.caller, { image });
    await rejectsCode(mv().run(w.caller, { image }), 'HOST_CAPACITY');
    await mv().suspend(w.caller, m.id);
    assert.equal((await mv().run(w.caller, { image })).state, 'RUNNING', 'a suspended microVM frees its place');
  });

  test('clientToken: a replay answers the first microVM; other input with the same token is refused', async () => {
    const a = await mv().run(w.caller, { image, clientToken: 'tok-1' });
    const b = await mv().run(w.caller, { image, clientToken: 'tok-1' });
    assert.equal(b.id, a.id);
    await rejectsCode(mv().run(w.caller, { image, clientToken: 'tok-1', runHookPayload: 'other' }), 'IDEMPOTENCY_MISMATCH');
    assert.equal((await mv().list(w.caller, {})).items.length, 1);
    assert.deepEqual(w.runtime.ids(), [a.id]);
  });
});
