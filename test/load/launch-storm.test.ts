/**
 * Launch storms against a real daemon (real runsc, the official client): with one launch at a
 * time and room for one waiting, a burst of RunMicrovm gives each call either RUNNING or a
 * ThrottlingException (429) whose retryAfterSeconds the client surfaces, never a timeout; the
 * refused calls leave no microVM. The warm pool's clone (warmed before hand-out) serves the
 * next launch, which answers through the gateway.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ListMicrovmsCommand,
  RunMicrovmCommand,
  TerminateMicrovmCommand,
  ThrottlingException,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { buildCounterImage, bumpCounter } from '../e2e/support.js';

const BURST = 4;

describe('a launch storm against the real daemon', { timeout: 400_000 }, () => {
  let d: TestDaemon;
  let client: LambdaMicrovmsClient;
  let tmp: string;
  let baseline: Set<string>;

  before(async () => {
    baseline = await hostResources();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-storm-'));
    d = await startTestDaemon({ warmPool: 1, launchConcurrency: 1, launchQueue: 8, launchQueuePerTenant: 1 });
    client = (await d.tenant('storm')).client; // maxAttempts 1: throttling is seen, not retried
    await buildCounterImage(
      client,
      tmp,
      { hooks: { port: 9000, microvmHooks: { run: 'ENABLED' }, microvmImageHooks: { ready: 'ENABLED', readyTimeoutInSeconds: 60 } } },
      240_000,
    );
  });

  after(async () => {
    if (client) {
      const { items = [] } = await client.send(new ListMicrovmsCommand({ maxResults: 50 })).catch(() => ({ items: [] }));
      for (const m of items.filter((x) => x.state !== 'TERMINATED')) {
        await client.send(new TerminateMicrovmCommand({ microvmIdentifier: m.microvmId })).catch(() => undefined);
      }
    }
    await d?.destroy();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
    await assertNoLeaks(baseline, [], 10_000);
  });

  test(`a burst of ${BURST} with one slot and one place in the queue: RUNNING or ThrottlingException with a retry hint`, async () => {
    const results = await Promise.all(
      Array.from({ length: BURST }, async () => {
        try {
          const m = await client.send(new RunMicrovmCommand({ imageIdentifier: 'counter' }));
          return { id: m.microvmId ?? '', state: m.state ?? '' };
        } catch (e) {
          if (!(e instanceof ThrottlingException)) throw e;
          assert.equal(e.$metadata.httpStatusCode, 429);
          assert.match(e.message, /too many launches queued for this account \(1, at most 1\); retry in \d+ s/);
          assert.ok(
            typeof e.retryAfterSeconds === 'number' && e.retryAfterSeconds >= 1,
            `retryAfterSeconds ${String(e.retryAfterSeconds)}`,
          );
          assert.equal(e.quotaCode, 'LAUNCH_THROTTLED');
          return { id: '', state: 'throttled' };
        }
      }),
    );
    const ran = results.filter((r) => r.state === 'RUNNING');
    const throttled = results.filter((r) => r.state === 'throttled');
    assert.equal(ran.length + throttled.length, BURST, JSON.stringify(results));
    assert.ok(ran.length >= 2, 'the one in flight and the one queued run');
    assert.ok(throttled.length >= 1, 'the rest are refused, not left waiting');
    const { items = [] } = await client.send(new ListMicrovmsCommand({ maxResults: 50 }));
    assert.deepEqual(items.map((m) => m.microvmId).sort(), ran.map((r) => r.id).sort(), 'refused launches left no microVM');
  });

  test('the warm pool refills once the storm is over, and its warmed clone serves the next launch', async () => {
    const deadline = Date.now() + 60_000;
    while (d.core.launcher.pooledIds().length < 1) {
      if (Date.now() > deadline) throw new Error('the warm pool did not refill within 60 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const pooled = d.core.launcher.pooledIds();
    const m = await client.send(new RunMicrovmCommand({ imageIdentifier: 'counter' }));
    assert.ok(pooled.includes(m.microvmId ?? ''), 'handed the pooled clone');
    assert.equal(m.state, 'RUNNING');
    assert.equal(await bumpCounter(d, client, m.microvmId ?? ''), 1, 'its app state is the snapshot, untouched by the warming');
  });
});
