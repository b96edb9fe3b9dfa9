import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { isCubbyError } from '../../../src/errors/index.js';
import { LinuxNetwork } from '../../../src/network/linux/index.js';

test('adopt hands a ready network to a new owner; the sweep then judges it by that owner', { timeout: 60_000 }, async (t) => {
  const driver = new LinuxNetwork();
  const pooled = await driver.allocate('rt:pool-1', { mode: 'closed' });
  let current = pooled;
  t.after(async () => {
    await driver.release(current);
  });

  const adopted = await driver.adopt(pooled, 'rt:sandbox-a');
  current = adopted;
  assert.equal(adopted.owner, 'rt:sandbox-a');
  assert.equal(adopted.index, pooled.index);
  const slot = JSON.parse(await readFile(`/run/cubby/net/slots/${pooled.index}`, 'utf8')) as { owner: string };
  assert.equal(slot.owner, 'rt:sandbox-a');

  // The old owner's handle no longer controls it: release by it is a no-op, adopt by it fails.
  await driver.release(pooled);
  assert.ok((await driver.slots.read(pooled.index)) !== undefined, 'a stale handle cannot release an adopted network');
  await assert.rejects(driver.adopt(pooled, 'rt:thief'), (e: unknown) => isCubbyError(e, 'NETWORK_SETUP_FAILED'));

  // Sweeping with the new owner live keeps it; with it dead removes it.
  const kept = await driver.sweep((o) => o === 'rt:sandbox-a' || !o.startsWith('rt:'));
  assert.ok(!kept.removed.some((r) => r.includes(`cubby-${pooled.index}`)));
  await driver.sweep((o) => !o.startsWith('rt:'));
  assert.equal(await driver.slots.read(pooled.index), undefined, 'swept once its owner is gone');
});
