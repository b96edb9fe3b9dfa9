/**
 * The idle tiers (idle-tiers.ts) over the real core with the fakes and a 20 ms tick: a short
 * idle freezes a microVM (still RUNNING), a request thaws it; maxIdle holds it SUSPENDED in
 * memory and a resume thaws it; low host memory, a shutdown or a per-microVM opt-out send it
 * to disk (today's SUSPENDED); a restart finds frozen ones and keeps them.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { IdlePolicy } from '../../../src/core/model.js';
import { eventually, readyImage, startFakeCore, type FakeCoreOptions, type FakeWorld } from '../../support/fakes/core.js';

const MiB = 1024 * 1024;
const sandboxState = async (w: FakeWorld, id: string) => (await w.runtime.get(id))?.state;
const record = async (w: FakeWorld, id: string) => {
  const m = await w.store.getMicrovmAny(id);
  assert.ok(m, `no record of ${id}`);
  return m;
};

describe('idle tiers: frozen in memory, then disk', () => {
  let w: FakeWorld | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  /** A world whose host frees `available()` bytes; the tiers freeze after 0.1 s by default. */
  async function world(opts: { available?: () => number; spillOnStop?: boolean } & FakeCoreOptions = {}) {
    const available = opts.available;
    w = await startFakeCore({
      config: {
        idleTiers: {
          freezeAfterSeconds: 0.1,
          memoryLowWatermarkBytes: 512 * MiB,
          memoryCheckMs: 20,
          spillOnStop: opts.spillOnStop ?? false,
        },
      },
      ...(available ? { hostMemory: { availableBytes: async () => available() } } : {}),
    });
    return { w, image: await readyImage(w) };
  }
  const policy = (over: Partial<IdlePolicy> = {}): IdlePolicy => ({
    maxIdleDurationSeconds: 60,
    suspendedDurationSeconds: 600,
    autoResumeEnabled: true,
    ...over,
  });
  const writeFile = (w: FakeWorld, id: string, text: string) => w.runtime.run(id, { args: ['sh', '-c', `echo ${text} > /root/s.txt`] });
  const readFile = async (w: FakeWorld, id: string) => (await w.runtime.run(id, { args: ['cat', '/root/s.txt'] })).stdout.toString();

  test('a short idle freezes a RUNNING microVM (still RUNNING); a request thaws it; open requests keep it awake', async () => {
    const { w, image } = await world();
    await w.core.start();
    const m = await w.core.services.microvms.run(w.caller, { image, idlePolicy: policy() });
    await writeFile(w, m.id, 'kept');
    await eventually(async () => (await sandboxState(w, m.id)) === 'frozen', 'freeze after 0.1 s', 3000);
    assert.ok(w.core.manager.tiers.isFrozen(m.id));
    assert.equal((await record(w, m.id)).state, 'RUNNING', 'frozen is only idle: the API still says RUNNING');
    // The gateway's path: activity first, then a thaw because isFrozen.
    w.core.manager.activity.record(m.id, 'request-start');
    assert.equal(await w.core.manager.thawIfFrozen(m.id), true);
    assert.equal(await w.core.manager.thawIfFrozen(m.id), false, 'nothing left to thaw');
    assert.equal(await sandboxState(w, m.id), 'running');
    assert.equal(await readFile(w, m.id), 'kept\n', 'the same sandbox, its state intact');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await sandboxState(w, m.id), 'running', 'never frozen while a request is open');
    w.core.manager.activity.record(m.id, 'request-end');
    await eventually(async () => (await sandboxState(w, m.id)) === 'frozen', 'frozen again after the request ended', 3000);
    assert.deepEqual(w.path(m.id), ['PENDING', 'RUNNING'], 'no state change at all');
  });

  test('a microVM still working without traffic (CPU above the busy mark) is not frozen; once quiet, it is', async () => {
    const { w, image } = await world();
    await w.core.start();
    const m = await w.core.services.microvms.run(w.caller, { image, idlePolicy: policy() });
    w.runtime.setLoad(m.id, 900);
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(await sandboxState(w, m.id), 'running', 'a background job keeps running until maxIdle');
    assert.equal(w.core.manager.tiers.isFrozen(m.id), false);
    w.runtime.setLoad(m.id, 20);
    await eventually(async () => (await sandboxState(w, m.id)) === 'frozen', 'frozen once the job is done', 3000);
  });

  test('maxIdle holds it SUSPENDED in memory (no checkpoint, no hooks); ResumeMicrovm thaws it with its state', async () => {
    const { w, image } = await world();
    await w.core.start();
    const m = await w.core.services.microvms.run(w.caller, { image, idlePolicy: policy({ maxIdleDurationSeconds: 0.3 }) });
    await writeFile(w, m.id, 'in-memory');
    const hooksBefore = w.hooks.calls.length;
    const s = await eventually(async () => {
      const r = await record(w, m.id);
      return r.state === 'SUSPENDED' && r;
    }, 'held SUSPENDED');
    assert.match(s.stateReason ?? '', /idle for 0.3 s; held in memory/);
    assert.equal(s.checkpointPath, undefined, 'no checkpoint: the session is the frozen sandbox');
    assert.equal(await sandboxState(w, m.id), 'frozen');
    assert.ok(w.core.manager.tiers.isHeld(s));
    assert.equal(await w.core.manager.thawIfFrozen(m.id), false, 'a held one is resumed, not only thawed (its record changes)');
    const r = await w.core.services.microvms.resume(w.caller, m.id);
    assert.equal(r.state, 'RUNNING');
    assert.equal(r.suspendedAt, undefined);
    assert.ok(r.suspendedSeconds > 0, 'the held period is metered as suspended');
    assert.equal(await sandboxState(w, m.id), 'running');
    assert.equal(await readFile(w, m.id), 'in-memory\n');
    assert.equal(w.hooks.calls.length, hooksBefore, 'a memory hold and its thaw call no hooks');
    assert.deepEqual(w.path(m.id), ['PENDING', 'RUNNING', 'SUSPENDED', 'RUNNING']);
  });

  test('low host memory sends frozen microVMs to disk: held SUSPENDED first, then the longest frozen; resume restores the same state', async () => {
    let available = 8192 * MiB;
    const { w, image } = await world({ available: () => available });
    await w.core.start();
    const held = await w.core.services.microvms.run(w.caller, { image, idlePolicy: policy({ maxIdleDurationSeconds: 0.2 }) });
    await writeFile(w, held.id, 'held');
    await eventually(async () => (await record(w, held.id)).state === 'SUSPENDED', 'held');
    const frozen = await w.core.services.microvms.run(w.caller, { image, idlePolicy: policy() });
    await writeFile(w, frozen.id, 'frozen');
    await eventually(async () => (await sandboxState(w, frozen.id)) === 'frozen', 'frozen');
    available = 100 * MiB;
    const h = await eventually(async () => {
      const r = await record(w, held.id);
      return r.checkpointPath ? r : false;
    }, 'held one written to disk');
    assert.equal(h.state, 'SUSPENDED');
    assert.match(h.stateReason ?? '', /host ran short of memory/);
    const f = await eventually(async () => {
      const r = await record(w, frozen.id);
      return r.state === 'SUSPENDED' && r.checkpointPath ? r : false;
    }, 'frozen RUNNING one written to disk');
    assert.match(f.stateReason ?? '', /host ran short of memory/);
    assert.equal(await w.runtime.get(held.id), undefined, 'the sandbox is released');
    assert.equal(await w.runtime.get(frozen.id), undefined);
    assert.equal(w.core.manager.tiers.size, 0);
    available = 8192 * MiB;
    for (const [m, text] of [
      [held, 'held'],
      [frozen, 'frozen'],
    ] as const) {
      assert.equal((await w.core.services.microvms.resume(w.caller, m.id)).state, 'RUNNING');
      assert.equal(await readFile(w, m.id), `${text}\n`, 'the disk tier gives the same state');
    }
    assert.deepEqual(w.path(frozen.id).slice(0, 5), ['PENDING', 'RUNNING', 'SUSPENDING', 'SUSPENDED', 'PENDING']);
  });

  test('while memory is short, maxIdle suspends straight to disk', async () => {
    const { w, image } = await world({ available: () => 100 * MiB });
    await w.core.start();
    const m = await w.core.services.microvms.run(w.caller, { image, idlePolicy: policy({ maxIdleDurationSeconds: 0.3 }) });
    const s = await eventually(async () => {
      const r = await record(w, m.id);
      return r.state === 'SUSPENDED' && r.checkpointPath ? r : false;
    }, 'on disk');
    assert.ok(s.checkpointPath);
    assert.equal(await w.runtime.get(m.id), undefined);
  });

  test('cubbyFreezeAfterSeconds 0 opts a microVM out: never frozen, suspended to disk at maxIdle', async () => {
    const { w, image } = await world();
    await w.core.start();
    const m = await w.core.services.microvms.run(w.caller, {
      image,
      idlePolicy: policy({ maxIdleDurationSeconds: 0.4, freezeAfterSeconds: 0 }),
    });
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(await sandboxState(w, m.id), 'running');
    const s = await eventually(async () => {
      const r = await record(w, m.id);
      return r.state === 'SUSPENDED' && r;
    }, 'disk suspend');
    assert.ok(s.checkpointPath, 'the ordinary disk suspend');
  });

  test('terminate thaws first, so the terminate hook reaches the app', async () => {
    const { w, image } = await world();
    await w.core.start();
    const m = await w.core.services.microvms.run(w.caller, { image, idlePolicy: policy() });
    await eventually(async () => (await sandboxState(w, m.id)) === 'frozen', 'frozen');
    const t = await w.core.services.microvms.terminate(w.caller, m.id);
    assert.equal(t.state, 'TERMINATED');
    assert.ok(
      w.hooks.calls.some((c) => c.hook === 'terminate'),
      'terminate hook called',
    );
    assert.equal(await w.runtime.get(m.id), undefined);
    assert.ok(!w.core.manager.tiers.isFrozen(m.id));
  });

  test('a suspend request on a frozen microVM thaws, checkpoints and suspends it', async () => {
    const { w, image } = await world();
    await w.core.start();
    const m = await w.core.services.microvms.run(w.caller, { image, idlePolicy: policy() });
    await writeFile(w, m.id, 'suspended');
    await eventually(async () => (await sandboxState(w, m.id)) === 'frozen', 'frozen');
    const s = await w.core.services.microvms.suspend(w.caller, m.id);
    assert.equal(s.state, 'SUSPENDED');
    assert.ok(s.checkpointPath);
    await w.core.services.microvms.resume(w.caller, m.id);
    assert.equal(await readFile(w, m.id), 'suspended\n');
  });

  test('a shutdown writes frozen microVMs to disk when configured', async () => {
    const { w, image } = await world({ spillOnStop: true });
    await w.core.start();
    const m = await w.core.services.microvms.run(w.caller, { image, idlePolicy: policy() });
    await eventually(async () => (await sandboxState(w, m.id)) === 'frozen', 'frozen');
    await w.core.stop();
    const s = await record(w, m.id);
    assert.equal(s.state, 'SUSPENDED');
    assert.match(s.stateReason ?? '', /before the daemon stopped/);
    assert.ok(s.checkpointPath);
    assert.equal(await w.runtime.get(m.id), undefined);
  });

  test('after a crash, reconcile keeps frozen and held microVMs frozen; a vanished held one is terminated', async () => {
    const first = await world();
    const image = first.image;
    let cur = first.w;
    await cur.core.start();
    const running = await cur.core.services.microvms.run(cur.caller, { image, idlePolicy: policy() });
    const held = await cur.core.services.microvms.run(cur.caller, { image, idlePolicy: policy({ maxIdleDurationSeconds: 0.2 }) });
    const gone = await cur.core.services.microvms.run(cur.caller, { image, idlePolicy: policy({ maxIdleDurationSeconds: 0.2 }) });
    await writeFile(cur, running.id, 'r');
    await writeFile(cur, held.id, 'h');
    const w0 = cur;
    await eventually(async () => (await sandboxState(w0, running.id)) === 'frozen', 'frozen');
    await eventually(
      async () => (await record(w0, held.id)).state === 'SUSPENDED' && (await record(w0, gone.id)).state === 'SUSPENDED',
      'held',
    );
    cur.runtime.vanish(gone.id);
    cur = cur.restart();
    w = cur;
    const report = await cur.core.start();
    assert.ok(report.adopted.includes(running.id));
    assert.ok(report.suspended.includes(held.id));
    assert.ok(report.terminated.includes(gone.id));
    assert.match((await record(cur, gone.id)).stateReason ?? '', /held in memory vanished/);
    assert.equal(await sandboxState(cur, running.id), 'frozen', 'kept frozen');
    assert.equal(await sandboxState(cur, held.id), 'frozen');
    assert.ok(cur.core.manager.tiers.isFrozen(running.id));
    await cur.core.manager.ensureRunning(running.id);
    assert.equal(await readFile(cur, running.id), 'r\n');
    assert.equal((await cur.core.services.microvms.resume(cur.caller, held.id)).state, 'RUNNING');
    assert.equal(await readFile(cur, held.id), 'h\n');
  });
});
