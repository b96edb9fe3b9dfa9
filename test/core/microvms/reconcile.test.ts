/**
 * Crash points: the daemon "dies" at each step of launch, suspend, resume and terminate (the
 * fake step never returns, before or after its effect), then a new core over the same SQLite
 * store and the same fake host reconciles. Afterwards the store and the sandboxes agree, no
 * microVM is left mid-transition, nothing is orphaned, and the session's data survives wherever
 * the microVM survives (it can go on being suspended and resumed).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CrashPoint } from '../../support/fakes/faults.js';
import { eventually, readyImage, startFakeCore, type FakeWorld } from '../../support/fakes/core.js';
import type { MicrovmState } from '../../../src/core/model.js';

type Action = 'launch' | 'suspend' | 'resume' | 'terminate';
interface CrashCase {
  action: Action;
  part: 'runtime' | 'hooks' | 'disk';
  op: string;
  at: CrashPoint;
  expect: MicrovmState;
  /** The state the microVM is in when the action starts (default: RUNNING, SUSPENDED for a resume). */
  from?: 'SUSPENDED';
}

const CASES: CrashCase[] = [
  { action: 'launch', part: 'runtime', op: 'restore', at: 'before', expect: 'TERMINATED' },
  { action: 'launch', part: 'runtime', op: 'restore', at: 'after', expect: 'TERMINATED' },
  { action: 'launch', part: 'hooks', op: 'run', at: 'before', expect: 'TERMINATED' },
  { action: 'launch', part: 'hooks', op: 'run', at: 'after', expect: 'TERMINATED' },
  { action: 'suspend', part: 'hooks', op: 'suspend', at: 'before', expect: 'RUNNING' },
  { action: 'suspend', part: 'runtime', op: 'pause', at: 'before', expect: 'RUNNING' },
  { action: 'suspend', part: 'runtime', op: 'pause', at: 'after', expect: 'RUNNING' },
  { action: 'suspend', part: 'runtime', op: 'checkpoint', at: 'before', expect: 'RUNNING' },
  { action: 'suspend', part: 'runtime', op: 'checkpoint', at: 'after', expect: 'SUSPENDED' },
  { action: 'suspend', part: 'disk', op: 'replace', at: 'before', expect: 'SUSPENDED' },
  { action: 'suspend', part: 'disk', op: 'replace', at: 'after', expect: 'RUNNING' },
  { action: 'suspend', part: 'runtime', op: 'destroy', at: 'before', expect: 'SUSPENDED' },
  { action: 'resume', part: 'runtime', op: 'restore', at: 'before', expect: 'SUSPENDED' },
  { action: 'resume', part: 'runtime', op: 'restore', at: 'after', expect: 'SUSPENDED' },
  { action: 'resume', part: 'hooks', op: 'resume', at: 'before', expect: 'SUSPENDED' },
  { action: 'resume', part: 'hooks', op: 'resume', at: 'after', expect: 'SUSPENDED' },
  { action: 'resume', part: 'disk', op: 'remove', at: 'before', expect: 'RUNNING' },
  { action: 'terminate', part: 'hooks', op: 'terminate', at: 'before', expect: 'TERMINATED' },
  { action: 'terminate', part: 'runtime', op: 'destroy', at: 'before', expect: 'TERMINATED' },
  { action: 'terminate', part: 'runtime', op: 'destroy', at: 'after', expect: 'TERMINATED' },
  { action: 'terminate', part: 'disk', op: 'remove', at: 'before', expect: 'TERMINATED' },
  { action: 'terminate', part: 'runtime', op: 'destroy', at: 'before', expect: 'TERMINATED', from: 'SUSPENDED' },
  { action: 'terminate', part: 'disk', op: 'remove', at: 'before', expect: 'TERMINATED', from: 'SUSPENDED' },
  { action: 'terminate', part: 'disk', op: 'remove', at: 'after', expect: 'TERMINATED', from: 'SUSPENDED' },
];

/** What must hold for every microVM once reconciled. */
async function assertConsistent(w: FakeWorld): Promise<void> {
  const all = await w.store.listMicrovmsByState(['PENDING', 'RUNNING', 'SUSPENDING', 'SUSPENDED', 'TERMINATING', 'TERMINATED']);
  const sandboxes = new Map((await w.runtime.list()).map((s) => [s.id, s.state]));
  for (const m of all) {
    const sb = sandboxes.get(m.id);
    switch (m.state) {
      case 'RUNNING':
        assert.equal(sb, 'running', `RUNNING ${m.id} has a running sandbox`);
        break;
      case 'SUSPENDED':
        assert.equal(sb, undefined, `SUSPENDED ${m.id} holds no sandbox`);
        assert.ok(m.checkpointPath, 'a SUSPENDED microVM records its checkpoint');
        await w.runtime.inspectCheckpoint(m.checkpointPath);
        break;
      case 'TERMINATED':
        assert.equal(sb, undefined, `TERMINATED ${m.id} holds no sandbox`);
        assert.equal(w.fs.exists(`${w.config.dataDir}/checkpoints/${m.id}`), false, 'a TERMINATED microVM keeps no checkpoint');
        assert.ok(m.stateReason, 'and says why');
        break;
      default:
        assert.fail(`${m.id} left ${m.state} after reconcile`);
    }
  }
  for (const id of sandboxes.keys()) {
    assert.ok(
      all.some((m) => m.id === id && m.state === 'RUNNING'),
      `sandbox ${id} belongs to a RUNNING microVM`,
    );
  }
}

describe('reconcile after a crash at each lifecycle step', () => {
  for (const c of CASES) {
    test(`${c.action}${c.from ? ` of a ${c.from} microVM` : ''}: crash ${c.at} ${c.part}.${c.op} -> ${c.expect}`, async () => {
      let w = await startFakeCore();
      try {
        const image = await readyImage(w);
        const mv = () => w.core.services.microvms;
        let id: string | undefined;
        if (c.action !== 'launch') {
          id = (await mv().run(w.caller, { image })).id;
          await w.runtime.run(id, { args: ['sh', '-c', 'echo precious > /root/data.txt'] });
          if (c.action === 'resume' || c.from === 'SUSPENDED') await mv().suspend(w.caller, id);
        }
        w[c.part].faults.crash(c.op, c.at);
        const calls = w[c.part].faults.calls.length;
        const doing = c.action === 'launch' ? mv().run(w.caller, { image }) : mv()[c.action](w.caller, id ?? '');
        doing.catch(() => undefined);
        await eventually(() => w[c.part].faults.calls.slice(calls).includes(c.op), `${c.part}.${c.op} to be reached`);
        await new Promise((r) => setImmediate(r));
        id ??= (await mv().list(w.caller, {})).items[0]?.id;
        assert.ok(id);
        w = w.restart();
        const report = await w.core.start();
        await assertConsistent(w);
        const m = await mv().get(w.caller, id);
        assert.equal(m.state, c.expect, `${m.state}: ${m.stateReason ?? ''} (report ${JSON.stringify(report)})`);
        // Wherever the session survived, its data did too, and the lifecycle goes on.
        if (m.state === 'SUSPENDED') {
          assert.equal((await mv().resume(w.caller, id)).state, 'RUNNING');
        }
        if (c.action !== 'launch' && (m.state === 'RUNNING' || m.state === 'SUSPENDED')) {
          assert.equal(
            (await w.runtime.run(id, { args: ['cat', '/root/data.txt'] })).stdout.toString(),
            'precious\n',
            'the session data survived',
          );
          assert.equal((await mv().suspend(w.caller, id)).state, 'SUSPENDED');
          assert.equal((await mv().resume(w.caller, id)).state, 'RUNNING');
        }
        await assertConsistent(w);
      } finally {
        await w.close();
      }
    });
  }

  test('vanished sandboxes and damaged checkpoints are reported, not hidden', async () => {
    let w = await startFakeCore();
    try {
      const image = await readyImage(w);
      const gone = await w.core.services.microvms.run(w.caller, { image });
      const paused = await w.core.services.microvms.run(w.caller, { image });
      const damaged = await w.core.services.microvms.run(w.caller, { image });
      const ck = (await w.core.services.microvms.suspend(w.caller, damaged.id)).checkpointPath ?? '';
      const stray = (
        await w.runtime.restore({
          id: 'strayxxxxxxxxxxxxxxx',
          checkpointDir:
            (await w.store.listVersions(w.tenants[0]!.id, (await w.core.services.images.get(w.caller, image)).id)).items[0]?.snapshotPath ??
            '',
        })
      ).id;
      w.runtime.vanish(gone.id);
      await w.runtime.pause(paused.id);
      w.runtime.corruptCheckpoint(ck);
      w = w.restart();
      const report = await w.core.start();
      assert.deepEqual(report.terminated, [gone.id]);
      assert.match((await w.store.getMicrovmAny(gone.id))?.stateReason ?? '', /vanished/);
      assert.deepEqual(report.adopted, [paused.id]);
      assert.equal((await w.runtime.get(paused.id))?.state, 'running', 'a paused sandbox of a RUNNING microVM is resumed');
      const d = await w.store.getMicrovmAny(damaged.id);
      assert.equal(d?.state, 'SUSPENDED', 'the record is kept so its owner sees why');
      assert.match(d?.stateReason ?? '', /checkpoint is missing or damaged/);
      assert.ok(report.swept.includes(stray), 'a sandbox nobody owns is swept');
      await assert.rejects(w.core.services.microvms.resume(w.caller, damaged.id));
    } finally {
      await w.close();
    }
  });

  test('a build cut by a crash is marked FAILED on restart, its files dropped and its log kept', async () => {
    let w = await startFakeCore();
    try {
      w.builder.faults.crash('build', 'before');
      await w.core.services.images.create(w.caller, {
        name: 'cut',
        settings: (await import('../../support/fakes/core.js')).fakeSettings(),
      });
      await eventually(() => w.builder.faults.calls.includes('build'), 'the build to start');
      const img = await w.core.services.images.get(w.caller, 'cut');
      w = w.restart();
      await w.core.start();
      const v = await w.core.services.images.getVersion(w.caller, 'cut', '1.0');
      assert.equal(v.state, 'FAILED');
      assert.match(v.stateReason ?? '', /interrupted by a daemon restart/);
      assert.equal((await w.core.services.images.get(w.caller, 'cut')).state, 'CREATE_FAILED');
      assert.equal(w.fs.exists(`${w.config.dataDir}/images/${img.id}/1.0/context`), false);
      assert.match(await w.core.services.images.buildLog(w.caller, 'cut', '1.0'), /unpacked/);
    } finally {
      await w.close();
    }
  });
});
