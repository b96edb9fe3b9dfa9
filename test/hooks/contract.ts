/**
 * The hooks port contract: how a HooksPort treats the app's answers. The HTTP adapter runs it
 * against local HTTP servers on 127.0.0.1; the fake hooks against scripted apps.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { HookCall, HooksPort } from '../../src/core/ports/hooks.js';
import { isCubbyError } from '../../src/errors/index.js';

export interface HooksFixture {
  hooks: HooksPort;
  /** An app answering every hook with these statuses in turn (the last repeats); returns where, and what it received. */
  app(statuses: number[]): Promise<{ address: string; port: number; received: () => Array<Pick<HookCall, 'hook' | 'body'>> }>;
  /** An address:port where nothing listens. */
  nothing(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isCubbyError(e), String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

export function runHooksContract(name: string, make: () => Promise<HooksFixture>): void {
  describe(`hooks contract: ${name}`, () => {
    let fx: HooksFixture;
    before(async () => {
      fx = await make();
    });
    after(() => fx.close());

    test('a 200 answer succeeds and the app receives the hook with its body', async () => {
      const a = await fx.app([200]);
      const r = await fx.hooks.call({
        address: a.address,
        port: a.port,
        hook: 'run',
        body: { microvmId: 'm1', runHookPayload: 'p' },
        timeoutMs: 2000,
      });
      assert.equal(r.status, 200);
      assert.ok(r.elapsedMs >= 0);
      assert.deepEqual(
        a.received().map((x) => [x.hook, x.body]),
        [['run', { microvmId: 'm1', runHookPayload: 'p' }]],
      );
    });

    test('ready and validate are polled while 503, then succeed on 200', async () => {
      for (const hook of ['ready', 'validate'] as const) {
        const a = await fx.app([503, 503, 200]);
        assert.equal((await fx.hooks.call({ address: a.address, port: a.port, hook, timeoutMs: 5000 })).status, 200);
        assert.equal(a.received().length, 3);
      }
    });

    test('other answers fail with HOOK_FAILED at once; other hooks are not retried on 503', async () => {
      const a = await fx.app([500]);
      await rejectsCode(fx.hooks.call({ address: a.address, port: a.port, hook: 'ready', timeoutMs: 5000 }), 'HOOK_FAILED');
      assert.equal(a.received().length, 1, 'a 500 is final');
      const b = await fx.app([503, 200]);
      await rejectsCode(fx.hooks.call({ address: b.address, port: b.port, hook: 'suspend', timeoutMs: 5000 }), 'HOOK_FAILED');
      assert.equal(b.received().length, 1);
    });

    test('a ready hook that keeps answering 503 fails with HOOK_FAILED when its time is up', async () => {
      const a = await fx.app([503]);
      const started = Date.now();
      await rejectsCode(fx.hooks.call({ address: a.address, port: a.port, hook: 'ready', timeoutMs: 300 }), 'HOOK_FAILED');
      assert.ok(Date.now() - started < 3000, 'within about its timeout');
    });

    test('nothing listening: HOOK_FAILED for a call, APP_NOT_READY for waitForPort; a listening port is found', async () => {
      const n = await fx.nothing();
      await rejectsCode(fx.hooks.call({ address: n.address, port: n.port, hook: 'run', timeoutMs: 300 }), 'HOOK_FAILED');
      await rejectsCode(fx.hooks.waitForPort(n.address, n.port, 300), 'APP_NOT_READY');
      const a = await fx.app([200]);
      await fx.hooks.waitForPort(a.address, a.port, 2000);
    });
  });
}
