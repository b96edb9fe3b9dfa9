/**
 * Deep warm pools for launch storms, over the real core with the fake runtime: refills stop at the
 * host-wide cap on pooled clones and go to the emptiest pool first; every launch (pooled or cold)
 * tells the observer its sandbox's address before its run hook, so the gateway can pre-connect.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { eventually, readyImage, startFakeCore, type FakeWorld } from '../../support/fakes/core.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pooled clones per image name. */
async function depth(w: FakeWorld): Promise<Record<string, number>> {
  const names = new Map<string, string>();
  for (const name of ['a', 'b']) {
    const image = await w.store.getImageByName(w.caller.tenant.id, name);
    if (image) names.set(image.id, name);
  }
  const out: Record<string, number> = {};
  for (const id of w.core.launcher.pooledIds()) {
    const name = names.get(w.host.sandboxes.get(id)?.labels.image ?? '') ?? '?';
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}

describe('deep warm pools', () => {
  let w: FakeWorld | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  test('refills stop at the host-wide cap, and go to the emptiest pool first', async () => {
    w = await startFakeCore({ config: { warmPoolSize: 3, launches: { refillIntervalMs: 0, maxPooled: 4 } } });
    await readyImage(w, 'a');
    await readyImage(w, 'b');
    await w.core.services.microvms.run(w.caller, { image: 'a' });
    await eventually(async () => (await depth(w!)).a === 3, 'pool a to fill');
    await w.core.services.microvms.run(w.caller, { image: 'b' }); // a cold launch: pool b starts
    await eventually(() => w!.core.launcher.pooledIds().length === 4, 'the cap to be reached');
    await sleep(100);
    assert.deepEqual(await depth(w), { a: 3, b: 1 }, 'no refill past the cap of 4');
    // A launch from a frees one place: it goes to b, the emptier pool, not back to a.
    await w.core.services.microvms.run(w.caller, { image: 'a' });
    await eventually(() => w!.core.launcher.pooledIds().length === 4, 'the freed place to be refilled');
    await sleep(100);
    assert.deepEqual(await depth(w), { a: 2, b: 2 });
  });

  test('every launch, pooled or cold, tells the observer its address before the run hook; off, none', async () => {
    w = await startFakeCore({ config: { warmPoolSize: 1, launches: { refillIntervalMs: 0 } } });
    await readyImage(w, 'a');
    const addressOf = (id: string) => w!.host.sandboxes.get(id)?.address;
    /** Launches with its run hook held: what was announced by then, and the microVM. */
    const launchHeld = async (input: Parameters<FakeWorld['core']['services']['microvms']['run']>[1]) => {
      const gate = w!.hooks.faults.gate('run');
      const launch = w!.core.services.microvms.run(w!.caller, input);
      await gate.entered;
      const announced = w!.handedOut.map((e) => ({ ...e }));
      gate.open();
      return { announced, m: await launch };
    };
    const cold = await launchHeld({ image: 'a' });
    assert.deepEqual(cold.announced, [{ microvmId: cold.m.id, address: addressOf(cold.m.id) }], 'announced while its run hook ran');
    await eventually(() => w!.core.launcher.pooledIds().length === 1, 'the pool to fill');
    const pooledId = w.core.launcher.pooledIds()[0];
    const pooled = await launchHeld({ image: 'a' });
    assert.equal(pooled.m.id, pooledId, 'handed the pooled clone');
    assert.deepEqual(pooled.announced.at(-1), { microvmId: pooled.m.id, address: addressOf(pooled.m.id) });
    assert.equal(w.handedOut.length, 2, 'refills are not announced: only hand-outs');
    w.core.launcher.preconnect = false;
    await w.core.services.microvms.run(w.caller, { image: 'a', egress: { mode: 'internet' } });
    assert.equal(w.handedOut.length, 2, 'no notice with pre-connect off');
  });
});
