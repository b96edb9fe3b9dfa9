/** The replay cache alone: per-tenant pools that never evict a live entry. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplayCache } from '../../../../src/api/lambda/auth/replay-cache.js';

const WINDOW = 300_000;

test('a signature is refused until it expires, then may be seen again', () => {
  const cache = new ReplayCache({ perTenant: 3 });
  assert.deepEqual(cache.remember('A', 's1', 1000, 0), { outcome: 'fresh' });
  assert.deepEqual(cache.remember('A', 's1', 1000, 500), { outcome: 'replayed' });
  assert.deepEqual(cache.remember('A', 's1', 1000, 1000), { outcome: 'replayed' }, 'still inside its window at the last ms');
  assert.deepEqual(cache.remember('A', 's1', 2000, 1001), { outcome: 'fresh' });
  assert.deepEqual(cache.remember('B', 's1', 2000, 1001), { outcome: 'fresh' }, 'tenants have separate pools');
});

test('a full pool refuses new signatures (throttled) instead of evicting live ones; room returns as they expire', () => {
  const cache = new ReplayCache({ perTenant: 3 });
  for (const [i, s] of ['a', 'b', 'c'].entries()) assert.equal(cache.remember('A', s, 1000 + i, 0).outcome, 'fresh');
  assert.deepEqual(cache.remember('A', 'd', 5000, 10), { outcome: 'full', scope: 'tenant', retryAfterMs: 990 });
  for (const s of ['a', 'b', 'c']) assert.equal(cache.remember('A', s, 9999, 20).outcome, 'replayed', `${s} was kept`);
  assert.equal(cache.size('A', 20), 3);
  assert.equal(cache.remember('A', 'd', 5000, 1001).outcome, 'fresh', 'the first entry expired: room for one');
  assert.equal(cache.remember('A', 'e', 5000, 1001).outcome, 'full');
  assert.equal(cache.remember('A', 'e', 5000, 1003).outcome, 'fresh');
});

test("tenant A's flood never lets a replay of tenant B's request through, and never blocks tenant B", () => {
  const cache = new ReplayCache({ perTenant: 1000 });
  const now = 1_000_000;
  assert.equal(cache.remember('B', 'b-request', now + WINDOW, now).outcome, 'fresh');
  let refused = 0;
  for (let i = 0; i < 50_000; i++) {
    const v = cache.remember('A', `flood-${i}`, now + WINDOW, now + 1);
    if (v.outcome === 'full') refused += 1;
  }
  assert.equal(refused, 49_000, 'A is throttled past its own pool');
  assert.equal(cache.size('A', now + 2), 1000);
  assert.equal(cache.remember('B', 'b-request', now + WINDOW, now + 2).outcome, 'replayed', "B's entry survived the flood");
  for (let i = 0; i < 999; i++) assert.equal(cache.remember('B', `b-${i}`, now + WINDOW, now + 3).outcome, 'fresh', `B request ${i}`);
  assert.equal(cache.remember('A', 'flood-0', now + WINDOW, now + 4).outcome, 'replayed', "A's own live entries are kept too");
});

test('the number of tenants tracked is bounded: idle ones are forgotten, live ones never', () => {
  const cache = new ReplayCache({ perTenant: 10, maxTenants: 2 });
  assert.equal(cache.remember('A', 'a', 1000, 0).outcome, 'fresh');
  assert.equal(cache.remember('B', 'b', 2000, 0).outcome, 'fresh');
  assert.deepEqual(cache.remember('C', 'c', 3000, 10), { outcome: 'full', scope: 'tenants', retryAfterMs: 990 });
  assert.equal(cache.remember('A', 'a2', 3000, 20).outcome, 'fresh', 'tracked tenants are not blocked');
  assert.equal(cache.tenants, 2);
  assert.equal(cache.remember('C', 'c', 4000, 2001).outcome, 'fresh', 'A and B idle by now: C takes a slot');
  assert.equal(cache.tenants, 2, 'only idle pools were dropped');
  assert.equal(cache.remember('A', 'a2', 9000, 2002).outcome, 'replayed', "A's live entry was kept");
});
