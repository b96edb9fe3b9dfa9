/**
 * The console's validation runs (src/api/console/validations.ts) around a validator port that the
 * test drives by hand: one run per tenant and a few per host, progress reaching watchers as it
 * happens, the report kept per version, a failed run reported, and stopAll stopping every run.
 * (The real validator from the console runs in console.test.ts, in Chromium against a real daemon.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsoleValidations, type CheckOutcome, type ValidationParams, type ValidatorPort } from '../../../src/api/console/validations.js';
import { CubbyError } from '../../../src/errors/index.js';

interface Driven {
  hooks: { onStart?: (t: string) => void; onCheck?: (c: CheckOutcome) => void };
  finish(passed: boolean): void;
  fail(e: Error): void;
  stopped: boolean;
  apiUrl: string;
}

function drivenValidator(): { port: ValidatorPort; runs: Driven[] } {
  const runs: Driven[] = [];
  const port: ValidatorPort = (run, hooks) => {
    let resolve: (v: { checks: CheckOutcome[]; passed: boolean }) => void = () => {};
    let reject: (e: Error) => void = () => {};
    const report = new Promise<{ checks: CheckOutcome[]; passed: boolean }>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const d: Driven = {
      hooks,
      apiUrl: run.apiUrl,
      stopped: false,
      finish: (passed) => resolve({ checks: [{ id: 'build', title: 'a. build', status: passed ? 'PASS' : 'FAIL' }], passed }),
      fail: (e) => reject(e),
    };
    runs.push(d);
    return {
      report,
      stop: async () => {
        d.stopped = true;
      },
    };
  };
  return { port, runs };
}

const params = (image: string, version = '1.0'): ValidationParams => ({
  image,
  version,
  launches: 1,
  port: 8080,
  path: '/',
  crashWaitSeconds: 3,
});
const auth = { apiUrl: 'http://127.0.0.1:1', accessKeyId: 'AK', secretAccessKey: 'SK' };
const tick = () => new Promise((r) => setImmediate(r));

describe('console validation runs', () => {
  it('runs one at a time per tenant, streams progress, and keeps the report per version', async () => {
    const { port, runs } = drivenValidator();
    const v = new ConsoleValidations(port);
    const seen: string[] = [];
    const unwatch = v.watch('t1', 'web', '1.0', (j) => seen.push(`${j.state}:${j.current ?? ''}:${j.checks.length}`));
    const job = v.start('t1', params('web'), auth);
    assert.equal(job.state, 'RUNNING');
    assert.equal(runs[0]?.apiUrl, auth.apiUrl);
    assert.throws(
      () => v.start('t1', params('other'), auth),
      (e: unknown) => e instanceof CubbyError && e.code === 'CONSOLE_VALIDATE_BUSY',
    );
    runs[0]?.hooks.onStart?.('a. build');
    runs[0]?.hooks.onCheck?.({ id: 'build', title: 'a. build', status: 'PASS' });
    runs[0]?.finish(true);
    await tick();
    await tick();
    unwatch();
    assert.deepEqual(seen, ['RUNNING:a. build:0', 'RUNNING::1', 'FINISHED::1']);
    const kept = v.get('t1', 'web', '1.0');
    assert.equal(kept?.state, 'FINISHED');
    assert.equal(kept?.report?.passed, true);
    assert.ok(kept?.finishedAt);
    assert.equal(v.get('t2', 'web', '1.0'), undefined, 'another tenant has no report of it');
    // Finished: the tenant may run again.
    v.start('t1', params('web', '2.0'), auth);
    runs[1]?.fail(new Error('the API refused'));
    await tick();
    await tick();
    assert.equal(v.get('t1', 'web', '2.0')?.state, 'FAILED');
    assert.equal(v.get('t1', 'web', '2.0')?.error, 'the API refused');
  });

  it('caps runs on the host, and stopAll stops every running one', async () => {
    const { port, runs } = drivenValidator();
    const v = new ConsoleValidations(port);
    v.start('t1', params('a'), auth);
    v.start('t2', params('b'), auth);
    assert.throws(
      () => v.start('t3', params('c'), auth),
      (e: unknown) => e instanceof CubbyError && e.code === 'CONSOLE_VALIDATE_BUSY',
    );
    await v.stopAll();
    assert.deepEqual(
      runs.map((r) => r.stopped),
      [true, true],
    );
  });

  it('refuses to start without a validator', () => {
    assert.throws(
      () => new ConsoleValidations(undefined).start('t1', params('a'), auth),
      (e: unknown) => e instanceof CubbyError && e.code === 'CONSOLE_VALIDATE_UNAVAILABLE',
    );
  });
});
