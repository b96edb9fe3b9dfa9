/** The build queue: a concurrency limit, FIFO within a tenant, round-robin across tenants. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FairQueue } from '../../../src/core/quotas/fair-queue.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

test("one tenant's many queued jobs do not starve another's: slots alternate between tenants", async () => {
  const q = new FairQueue(1);
  const order: string[] = [];
  const gates = new Map<string, ReturnType<typeof deferred>>();
  const job = (key: string, name: string) => {
    const g = deferred();
    gates.set(name, g);
    return q.run(key, async () => {
      order.push(name);
      await g.promise;
    });
  };
  const all = [job('a', 'a1'), job('a', 'a2'), job('a', 'a3'), job('a', 'a4'), job('b', 'b1'), job('b', 'b2'), job('c', 'c1')];
  assert.equal(q.queued(), 6);
  assert.equal(q.queued('a'), 3);
  // Finish whatever runs, one at a time, and record the order slots were handed out in.
  for (let i = 0; i < 7; i++) {
    await new Promise((r) => setImmediate(r));
    const running = order[order.length - 1];
    assert.ok(running);
    gates.get(running)?.resolve();
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(all);
  // A plain FIFO semaphore would run a1 a2 a3 a4 b1 b2 c1.
  assert.deepEqual(order, ['a1', 'a2', 'b1', 'c1', 'a3', 'b2', 'a4']);
  assert.equal(q.queued(), 0);
});

test('never more than the limit at once, and a failing job frees its slot', async () => {
  const q = new FairQueue(2);
  let active = 0;
  let peak = 0;
  const results = await Promise.allSettled(
    Array.from({ length: 9 }, (_, i) =>
      q.run(`t${i % 3}`, async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        if (i % 4 === 0) throw new Error(`job ${i} failed`);
        return i;
      }),
    ),
  );
  assert.equal(peak, 2);
  assert.equal(results.filter((r) => r.status === 'rejected').length, 3);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 6);
  // The queue is empty and usable again.
  assert.equal(await q.run('t0', async () => 'again'), 'again');
});
