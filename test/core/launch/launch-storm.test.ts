/**
 * Launch storms over the real core with the fake runtime: never more launches in flight than
 * the bound; waiting launches take turns between tenants; past the queue's bound a launch is
 * refused at once with LAUNCH_THROTTLED and a retry hint (and records nothing); warm-pool
 * refills run one at a time, paced, never while a launch waits, and a clone is warmed (its
 * ready hook asked) before it is handed out; a launch a pooled clone serves takes no slot.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { Caller } from '../../../src/core/services.js';
import type { Microvm } from '../../../src/core/model.js';
import { isCubbyError } from '../../../src/errors/index.js';
import { eventually, fakeSettings, startFakeCore, type FakeWorld } from '../../support/fakes/core.js';

async function imageFor(w: FakeWorld, caller: Caller): Promise<string> {
  await w.core.services.images.create(caller, { name: 'app', settings: fakeSettings() });
  await w.core.images.drain();
  return 'app';
}

/** Counts restores in flight (launches and refills) and remembers the most at once. */
function watchRestores(w: FakeWorld): { max: () => number; starts: Array<{ at: number; pool: boolean }> } {
  let now = 0;
  let max = 0;
  const starts: Array<{ at: number; pool: boolean }> = [];
  const restore = w.runtime.restore.bind(w.runtime);
  w.runtime.restore = async (spec) => {
    now++;
    max = Math.max(max, now);
    starts.push({ at: Date.now(), pool: spec.labels?.pool === 'warm' });
    try {
      return await restore(spec);
    } finally {
      now--;
    }
  };
  return { max: () => max, starts };
}

describe('launch storms', () => {
  let w: FakeWorld | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  test('at most `concurrency` launches at once; waiting ones take turns between tenants', async () => {
    w = await startFakeCore({ tenants: ['a', 'b', 'c'], config: { launches: { concurrency: 1 } } });
    const callers = w.tenants.map((tenant) => ({ tenant }));
    for (const c of callers) await imageFor(w, c);
    const watch = watchRestores(w);
    w.runtime.faults.delay('restore', 15);
    const owner = new Map<string, string>();
    // Tenant a asks 6 times first, then b and c 3 times each, all at once.
    const asks = [...Array(6).fill(0), ...Array(3).fill(1), ...Array(3).fill(2)] as number[];
    const launched = await Promise.all(
      asks.map(async (i) => {
        const m = await w!.core.services.microvms.run(callers[i] as Caller, { image: 'app' });
        owner.set(m.id, 'abc'[i] as string);
        return m;
      }),
    );
    assert.ok(launched.every((m) => m.state === 'RUNNING'));
    assert.equal(watch.max(), 1, 'one launch at a time');
    const order = w.hooks.calls
      .filter((c) => c.hook === 'run')
      .map((c) => owner.get((c.body as { microvmId: string }).microvmId))
      .join('');
    // a's first call takes the free slot; then a, b, c in turn while each has launches waiting.
    assert.equal(order, 'aabcabcabcaa');

    const two = await startFakeCore({ config: { launches: { concurrency: 2 } } });
    try {
      await imageFor(two, two.caller);
      const w2 = watchRestores(two);
      two.runtime.faults.delay('restore', 15);
      await Promise.all(Array.from({ length: 8 }, () => two.core.services.microvms.run(two.caller, { image: 'app' })));
      assert.equal(w2.max(), 2, 'two at once, never more');
    } finally {
      await two.close();
    }
  });

  test('past the bound a launch is refused at once with LAUNCH_THROTTLED and a retry hint, and records nothing', async () => {
    w = await startFakeCore({
      tenants: ['a', 'b'],
      config: { launches: { concurrency: 1, maxQueued: 3, maxQueuedPerTenant: 2 } },
    });
    const [a, b] = w.tenants.map((tenant) => ({ tenant })) as [Caller, Caller];
    await imageFor(w, a);
    await imageFor(w, b);
    const gate = w.runtime.faults.gate('restore');
    const settle = (p: Promise<Microvm>) =>
      p.then(
        (m) => m,
        (e: unknown) => e,
      );
    const aRuns = [1, 2, 3].map(() => settle(w!.core.services.microvms.run(a, { image: 'app' })));
    await gate.entered; // a's first launch holds the only slot; two more of a's wait
    const started = Date.now();
    const aOver = await settle(w.core.services.microvms.run(a, { image: 'app' }));
    assert.ok(isCubbyError(aOver), String(aOver));
    assert.equal(aOver.code, 'LAUNCH_THROTTLED');
    assert.equal(aOver.kind, 'throttled');
    assert.match(aOver.message, /too many launches queued for this account \(2, at most 2\); retry in \d+ s/);
    assert.ok(Number(aOver.details?.retryAfterSeconds) >= 1, 'a retry hint in seconds');
    assert.ok(Date.now() - started < 100, 'refused at once, not after a wait');
    // b still gets a place (the host queue has one left); b's next is refused by the host bound.
    const bRun = settle(w.core.services.microvms.run(b, { image: 'app' }));
    const bOver = await settle(w.core.services.microvms.run(b, { image: 'app' }));
    assert.ok(isCubbyError(bOver) && bOver.code === 'LAUNCH_THROTTLED', String(bOver));
    assert.match(bOver.message, /too many launches queued on this host \(3, at most 3\)/);
    assert.deepEqual(w.core.launcher.gate.stats(), { inFlight: 1, queued: 3 });
    gate.open();
    const done = await Promise.all([...aRuns, bRun]);
    assert.ok(
      done.every((m) => !isCubbyError(m) && (m as Microvm).state === 'RUNNING'),
      'every admitted launch runs',
    );
    const listed = async (c: Caller) => (await w!.core.services.microvms.list(c, {})).items.length;
    assert.equal(await listed(a), 3, 'the refused launch left no record');
    assert.equal(await listed(b), 1);
    assert.deepEqual(w.core.launcher.gate.stats(), { inFlight: 0, queued: 0 });
  });

  test('refills: warmed before hand-out, one at a time, paced, and never while a launch waits', async () => {
    w = await startFakeCore({ config: { warmPoolSize: 3, launches: { concurrency: 1, refillIntervalMs: 60 } } });
    await imageFor(w, w.caller);
    const watch = watchRestores(w);
    w.runtime.faults.delay('restore', 10);
    await w.core.services.microvms.run(w.caller, { image: 'app' });
    await eventually(() => w!.core.launcher.pooledIds().length === 3, 'the pool to fill', 3000);
    const refills = watch.starts.filter((s) => s.pool);
    assert.equal(refills.length, 3);
    for (let i = 1; i < refills.length; i++) {
      const gap = (refills[i]?.at ?? 0) - (refills[i - 1]?.at ?? 0);
      assert.ok(gap >= 55, `refills at least refillIntervalMs apart (gap ${gap} ms)`);
    }
    // Each pooled clone was asked (its ready hook) before it joined the pool; the run hook comes at hand-out.
    for (const id of w.core.launcher.pooledIds()) {
      const address: string | undefined = w.host.sandboxes.get(id)?.address;
      const asked: string[] = w.hooks.calls.filter((c) => c.address === address).map((c) => c.hook);
      assert.deepEqual(asked, ['ready'], 'warmed by one ready call, no run hook yet');
    }

    // A storm of 6 drains the pool; the refill waits until no launch is queued.
    watch.starts.length = 0;
    const storm = Array.from({ length: 6 }, () => w!.core.services.microvms.run(w!.caller, { image: 'app' }));
    const launchesDone: number[] = [];
    await Promise.all(storm.map((p) => p.then(() => launchesDone.push(Date.now()))));
    await eventually(() => w!.core.launcher.pooledIds().length === 3, 'the pool to refill', 3000);
    const lastQueuedLaunchStart = Math.max(...watch.starts.filter((s) => !s.pool).map((s) => s.at));
    const firstRefill = Math.min(...watch.starts.filter((s) => s.pool).map((s) => s.at));
    assert.ok(firstRefill >= lastQueuedLaunchStart, 'no refill started while launches were waiting for the slot');
    assert.equal(watch.max(), 1, 'refills share the launch bound');
  });

  test('a launch a pooled clone serves takes no slot: it never waits behind cold restores', async () => {
    w = await startFakeCore({ config: { warmPoolSize: 2, launches: { concurrency: 1, refillIntervalMs: 0 } } });
    await imageFor(w, w.caller);
    await w.core.services.microvms.run(w.caller, { image: 'app' });
    await eventually(() => w!.core.launcher.pooledIds().length === 2, 'the pool to fill');
    const pooled = w.core.launcher.pooledIds();
    // A cold restore (another egress never takes a pooled clone) holds the only slot.
    const gate = w.runtime.faults.gate('restore');
    const cold = w.core.services.microvms.run(w.caller, { image: 'app', egress: { mode: 'internet' } });
    await gate.entered;
    const launches = Promise.all([1, 2].map(() => w!.core.services.microvms.run(w!.caller, { image: 'app' })));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        gate.open();
        reject(new Error('the pooled launches waited for the held slot'));
      }, 2000);
    });
    const fast = await Promise.race([launches, late]).finally(() => clearTimeout(timer));
    assert.deepEqual(fast.map((m) => m.id).sort(), [...pooled].sort(), 'both pooled launches answered while the slot was held');
    assert.ok(fast.every((m) => m.state === 'RUNNING'));
    // With the pool empty a launch waits for the slot like any cold one.
    let queuedDone = false;
    const queued = w.core.services.microvms.run(w.caller, { image: 'app' }).then((m) => {
      queuedDone = true;
      return m;
    });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(queuedDone, false, 'a cold launch waits for the held slot');
    assert.equal(w.core.launcher.gate.stats().queued, 1);
    gate.open();
    assert.equal((await cold).state, 'RUNNING');
    assert.equal((await queued).state, 'RUNNING');
  });

  test('a clone whose warming fails is not pooled; the pool is disabled and launches restore directly', async () => {
    w = await startFakeCore({ config: { warmPoolSize: 1, launches: { refillIntervalMs: 0 } } });
    await imageFor(w, w.caller);
    w.hooks.faults.fail('ready', 'HOOK_FAILED');
    const readyAsked = () => w!.hooks.faults.calls.filter((c) => c === 'ready').length;
    const before = readyAsked();
    const watch = watchRestores(w);
    const warmRunning = () => [...w!.host.sandboxes.values()].filter((s) => s.labels.pool === 'warm' && s.state === 'running');
    await w.core.services.microvms.run(w.caller, { image: 'app' });
    await eventually(() => readyAsked() > before && watch.starts.some((s) => s.pool), 'the warming call on a restored clone');
    await eventually(() => warmRunning().length === 0, 'the unwarmed clone destroyed');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(w.core.launcher.pooledIds(), []);
    assert.equal(watch.starts.filter((s) => s.pool).length, 1, 'the pool is disabled: no further refills');
    assert.equal((await w.core.services.microvms.run(w.caller, { image: 'app' })).state, 'RUNNING');
  });
});
