/**
 * The runtime contract, semantic part: the lifecycle any SandboxRuntime must honour, real or
 * fake: create/get/list/address, run, pause/resume, freeze/thaw (the idle tier), checkpoint (stopping or leaving running),
 * restore of concurrent private clones, destroy, sweep, a second instance seeing the same
 * sandboxes, and typed errors for bad ids, states and checkpoints. It observes sandboxes only
 * through the port (files via `sh -c 'echo X > F'` / `cat F`), so the fake runtime
 * (test/support/fakes) passes it as well as gVisor. The isolation part (contract-isolation.ts)
 * is for real drivers only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SandboxRuntime, SandboxSpec } from '../../src/core/ports/runtime.js';
import { isCubbyError } from '../../src/errors/index.js';
import { newMicrovmId } from '../../src/core/ids.js';
import { backgroundDestroys } from './support/background-destroys.js';

export interface RuntimeSemanticFixture {
  runtime: SandboxRuntime;
  /** A root filesystem with `sh`, `echo`, `cat`, `sleep` and `true`. */
  rootfs: string;
  /** A directory (in the driver's filesystem) for checkpoints; created and removed by the fixture. */
  scratch: string;
  /** A second instance over the same state, as after a daemon restart. */
  reopen(): Promise<SandboxRuntime>;
  /** Damages a checkpoint's memory image so that its integrity check fails. */
  corruptCheckpoint(dir: string): Promise<void>;
  close(): Promise<void>;
}

export async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isCubbyError(e), `expected a CubbyError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

const MARKER = 'semantic-contract-started';

export function runRuntimeSemanticContract(name: string, make: () => Promise<RuntimeSemanticFixture>): void {
  describe(`runtime contract (semantic): ${name}`, { timeout: 300_000 }, () => {
    let fx: RuntimeSemanticFixture;
    let rt: SandboxRuntime;
    let n = 0;
    const ckDir = (what: string) => `${fx.scratch}/${what}-${n++}`;

    before(async () => {
      fx = await make();
      rt = fx.runtime;
    });
    after(async () => {
      try {
        await drain();
      } finally {
        await Promise.all((await rt.list()).map((s) => rt.destroy(s.id).catch(() => undefined)));
        await fx.close();
      }
    });

    const { release, drain } = backgroundDestroys(() => rt);

    const spec = (over: Partial<SandboxSpec> = {}): SandboxSpec => ({
      id: newMicrovmId(),
      rootfs: fx.rootfs,
      process: { args: ['sh', '-c', `echo ${MARKER}; sleep 1000`] },
      ...over,
    });
    const logHas = async (id: string, text: string) => {
      const end = Date.now() + 10_000;
      while (Date.now() < end) {
        if ((await rt.logs(id)).toString().includes(text)) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    };

    test('create: get, list, address and labels agree; run reports output and exit code', async () => {
      const s = await rt.create(spec({ labels: { owner: 'contract' } }));
      try {
        assert.equal(s.state, 'running');
        assert.equal(s.rootfs, fx.rootfs);
        assert.ok(s.address, 'a sandbox has an address');
        const got = await rt.get(s.id);
        assert.equal(got?.state, 'running');
        assert.equal(got?.address, s.address);
        assert.equal(got?.labels.owner, 'contract');
        assert.equal(await rt.address(s.id), s.address, 'address() answers from the record');
        await drain();
        assert.ok((await rt.list()).some((x) => x.id === s.id && x.state === 'running'));
        const r = await rt.run(s.id, { args: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
        assert.equal(r.code, 3);
        assert.equal(r.stdout.toString(), 'out\n');
        assert.equal(r.stderr.toString(), 'err\n');
        assert.ok(await logHas(s.id, MARKER), 'the main process writes to the sandbox log');
      } finally {
        release(s.id);
      }
    });

    test('pause and resume move between running and paused; wrong states are RUNTIME_BAD_STATE', async () => {
      const s = await rt.create(spec());
      try {
        await expectCode(rt.resume(s.id), 'RUNTIME_BAD_STATE');
        await rt.pause(s.id);
        assert.equal((await rt.get(s.id))?.state, 'paused');
        await rt.resume(s.id);
        assert.equal((await rt.get(s.id))?.state, 'running');
        assert.equal((await rt.run(s.id, { args: ['true'] })).code, 0, 'a resumed sandbox runs commands');
      } finally {
        release(s.id);
      }
    });

    test('freeze and thaw: a frozen sandbox keeps its state, refuses exec/pause/checkpoint, is listed frozen and can be destroyed', async () => {
      const s = await rt.create(spec());
      const other = await rt.create(spec());
      try {
        await rt.run(s.id, { args: ['sh', '-c', 'echo before-freeze > /root/f.txt'] });
        await rt.freeze(s.id);
        await rt.freeze(s.id); // idempotent
        assert.equal((await rt.get(s.id))?.state, 'frozen');
        await drain();
        const listed = new Map((await rt.list()).map((x) => [x.id, x.state]));
        assert.equal(listed.get(s.id), 'frozen', 'list reports the frozen sandbox');
        assert.equal(listed.get(other.id), 'running', 'list still reports the others (a frozen sandbox must not block it)');
        assert.equal((await rt.get(other.id))?.state, 'running');
        assert.ok((await rt.stats(s.id)).memoryBytes > 0, 'a frozen sandbox keeps its memory');
        await expectCode(rt.run(s.id, { args: ['true'] }), 'RUNTIME_BAD_STATE');
        await expectCode(rt.pause(s.id), 'RUNTIME_BAD_STATE');
        await expectCode(rt.checkpoint(s.id, ckDir('ck-frozen'), { leaveRunning: true }), 'RUNTIME_BAD_STATE');
        const again = await fx.reopen();
        try {
          assert.equal((await again.get(s.id))?.state, 'frozen', 'a restarted runtime sees the sandbox frozen');
        } finally {
          await again.close();
        }
        await rt.thaw(s.id);
        await rt.thaw(s.id); // idempotent
        assert.equal((await rt.get(s.id))?.state, 'running');
        assert.equal((await rt.run(s.id, { args: ['cat', '/root/f.txt'] })).stdout.toString(), 'before-freeze\n');
        await rt.pause(s.id);
        await expectCode(rt.freeze(s.id), 'RUNTIME_BAD_STATE');
        await rt.resume(s.id);
        await rt.freeze(other.id);
        await rt.destroy(other.id);
        assert.equal(await rt.get(other.id), undefined, 'a frozen sandbox is destroyed');
        await expectCode(rt.freeze(other.id), 'RUNTIME_NOT_FOUND');
        await expectCode(rt.thaw(other.id), 'RUNTIME_NOT_FOUND');
      } finally {
        // `other` is gone when the test got that far; s is released like the others.
        if (await rt.get(other.id)) await rt.destroy(other.id).catch(() => undefined);
        release(s.id);
      }
    });

    test('checkpoint stops the sandbox by default; restored clones keep its files and log, privately and concurrently', async () => {
      const s = await rt.create(spec({ labels: { role: 'origin' } }));
      const ck = ckDir('ck');
      const clones: string[] = [];
      try {
        assert.ok(await logHas(s.id, MARKER));
        await rt.run(s.id, { args: ['sh', '-c', 'echo disk-state > /root/state.txt'] });
        const info = await rt.checkpoint(s.id, ck);
        assert.ok(info.sizeBytes > 0, 'a checkpoint has a size');
        const end = Date.now() + 10_000;
        while ((await rt.get(s.id))?.state === 'running' && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
        assert.notEqual((await rt.get(s.id))?.state, 'running', 'without leaveRunning the sandbox stops (within 10 s)');
        assert.ok((await rt.inspectCheckpoint(ck)).sizeBytes > 0, 'inspectCheckpoint accepts a good checkpoint');
        await rt.destroy(s.id);
        await rt.sealCheckpoint(ck);
        const restored = await Promise.all(
          [0, 1, 2].map((i) => rt.restore({ id: newMicrovmId(), checkpointDir: ck, labels: { clone: String(i) } })),
        );
        clones.push(...restored.map((r) => r.id));
        assert.equal(new Set(restored.map((r) => r.address)).size, 3, 'each clone has its own address');
        for (const [i, c] of restored.entries()) {
          assert.equal(c.state, 'running');
          assert.equal((await rt.get(c.id))?.labels.clone, String(i), 'restore labels are added');
          assert.equal((await rt.get(c.id))?.labels.role, 'origin', 'checkpointed labels are kept');
          assert.ok(await logHas(c.id, MARKER), 'a clone continues the console log of the checkpoint');
          assert.equal((await rt.run(c.id, { args: ['cat', '/root/state.txt'] })).stdout.toString(), 'disk-state\n');
        }
        const [a, b] = restored as [(typeof restored)[0], (typeof restored)[0]];
        await rt.run(a.id, { args: ['sh', '-c', 'echo mine > /root/clone.txt'] });
        assert.equal((await rt.run(a.id, { args: ['cat', '/root/clone.txt'] })).stdout.toString(), 'mine\n');
        assert.notEqual((await rt.run(b.id, { args: ['cat', '/root/clone.txt'] })).code, 0, "a sibling never sees another clone's files");
        await expectCode(rt.restore({ id: a.id, checkpointDir: ck }), 'RUNTIME_DUPLICATE_ID');
      } finally {
        release(...clones);
      }
    });

    test('checkpoint with leaveRunning keeps a paused sandbox paused; a used directory is refused', async () => {
      const s = await rt.create(spec());
      try {
        await rt.pause(s.id);
        const ck = ckDir('ck-live');
        await rt.checkpoint(s.id, ck, { leaveRunning: true });
        assert.equal((await rt.get(s.id))?.state, 'paused');
        await rt.resume(s.id);
        assert.equal((await rt.run(s.id, { args: ['true'] })).code, 0);
        await assert.rejects(rt.checkpoint(s.id, ck, { leaveRunning: true }), 'a checkpoint never overwrites another');
        assert.equal((await rt.get(s.id))?.state, 'running', 'a refused checkpoint leaves the sandbox as it was');
      } finally {
        release(s.id);
      }
    });

    test('destroy: the sandbox is gone and every call on it is RUNTIME_NOT_FOUND', async () => {
      await drain();
      const s = await rt.create(spec());
      await rt.destroy(s.id);
      assert.equal(await rt.get(s.id), undefined);
      assert.equal(await rt.address(s.id), undefined);
      assert.ok(!(await rt.list()).some((x) => x.id === s.id));
      await expectCode(rt.destroy(s.id), 'RUNTIME_NOT_FOUND');
      await expectCode(rt.exec(s.id, { args: ['true'] }), 'RUNTIME_NOT_FOUND');
      await expectCode(rt.pause(s.id), 'RUNTIME_NOT_FOUND');
      await expectCode(rt.checkpoint(s.id, ckDir('gone')), 'RUNTIME_NOT_FOUND');
      await expectCode(rt.logs(s.id), 'RUNTIME_NOT_FOUND');
    });

    test('bad ids, rootfs, duplicates and checkpoints give typed errors', async () => {
      await expectCode(rt.create(spec({ id: 'BAD' })), 'RUNTIME_BAD_ID');
      await expectCode(rt.create(spec({ id: 'abc' })), 'RUNTIME_BAD_ID');
      await expectCode(rt.create(spec({ rootfs: '/nonexistent/rootfs' })), 'RUNTIME_ROOTFS_MISSING');
      assert.equal(await rt.get('BAD'), undefined);
      const s = await rt.create(spec());
      try {
        await expectCode(rt.create(spec({ id: s.id })), 'RUNTIME_DUPLICATE_ID');
        assert.equal((await rt.get(s.id))?.state, 'running', 'a refused duplicate leaves the first alone');
        await expectCode(rt.restore({ id: newMicrovmId(), checkpointDir: `${fx.scratch}/missing` }), 'RUNTIME_CHECKPOINT_MISSING');
        await expectCode(rt.inspectCheckpoint(`${fx.scratch}/missing`), 'RUNTIME_CHECKPOINT_MISSING');
        const ck = ckDir('ck-corrupt');
        await rt.checkpoint(s.id, ck, { leaveRunning: true });
        await fx.corruptCheckpoint(ck);
        const id = newMicrovmId();
        await expectCode(rt.restore({ id, checkpointDir: ck }), 'RUNTIME_CHECKPOINT_CORRUPT');
        assert.equal(await rt.get(id), undefined, 'a refused restore leaves no sandbox');
        await expectCode(rt.inspectCheckpoint(ck), 'RUNTIME_CHECKPOINT_CORRUPT');
      } finally {
        release(s.id);
      }
    });

    test('a second instance sees the sandboxes; sweep removes exactly those not kept', async () => {
      await drain();
      const keep = await rt.create(spec());
      const drop = await rt.create(spec());
      const again = await fx.reopen();
      try {
        assert.equal((await again.get(keep.id))?.state, 'running', 'a restarted runtime sees live sandboxes');
        assert.equal(await again.address(drop.id), drop.address);
        await again.recover();
        const report = await again.sweep((id) => id === keep.id);
        assert.ok(report.sandboxes.includes(drop.id), `swept ${JSON.stringify(report)}`);
        assert.ok(!report.sandboxes.includes(keep.id));
        assert.equal(await rt.get(drop.id), undefined);
        assert.equal((await rt.get(keep.id))?.state, 'running');
      } finally {
        await again.close();
        await rt.destroy(keep.id);
      }
    });
  });
}
