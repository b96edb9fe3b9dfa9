import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_HOOK_PORT, hooksFromWire, hooksToWire } from '../../../../src/api/lambda/mapping/hooks.js';
import { sizeFromResources } from '../../../../src/api/lambda/mapping/resources.js';

test('hooks map onto the core settings and back', () => {
  const wire = {
    port: 9100,
    microvmHooks: { run: 'ENABLED' as const, runTimeoutInSeconds: 7, terminate: 'DISABLED' as const },
    microvmImageHooks: { validate: 'ENABLED' as const, validateTimeoutInSeconds: 600 },
  };
  const core = hooksFromWire(wire);
  assert.deepEqual(core, { port: 9100, enabled: { run: true, terminate: false, validate: true }, timeouts: { run: 7, validate: 600 } });
  assert.deepEqual(hooksToWire(core), wire);
  assert.deepEqual(hooksFromWire(undefined), { port: DEFAULT_HOOK_PORT, enabled: {}, timeouts: {} });
  assert.equal(hooksToWire(hooksFromWire(undefined)), undefined);
});

test('property: any valid hooks block round-trips', () => {
  const state = fc.option(fc.constantFrom('ENABLED' as const, 'DISABLED' as const), { nil: undefined });
  const short = fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined });
  const long = fc.option(fc.integer({ min: 1, max: 3600 }), { nil: undefined });
  const strip = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const wire = fc.record({
    port: fc.integer({ min: 1, max: 65535 }),
    microvmHooks: fc
      .record({
        run: state,
        runTimeoutInSeconds: short,
        resume: state,
        resumeTimeoutInSeconds: short,
        suspend: state,
        suspendTimeoutInSeconds: short,
        terminate: state,
        terminateTimeoutInSeconds: short,
      })
      .map(strip),
    microvmImageHooks: fc.record({ ready: state, readyTimeoutInSeconds: long, validate: state, validateTimeoutInSeconds: long }).map(strip),
  });
  fc.assert(
    fc.property(wire, (w) => {
      const expected: Record<string, unknown> = { port: w.port };
      if (Object.keys(w.microvmHooks).length > 0) expected.microvmHooks = w.microvmHooks;
      if (Object.keys(w.microvmImageHooks).length > 0) expected.microvmImageHooks = w.microvmImageHooks;
      const back = hooksToWire(hooksFromWire(w));
      if (w.port === DEFAULT_HOOK_PORT && Object.keys(expected).length === 1) assert.equal(back, undefined);
      else assert.deepEqual(back, expected);
    }),
  );
});

test('memory sizes give vCPUs at 1 per 2 GiB, never below 0.25; the largest minimum wins', () => {
  assert.deepEqual(sizeFromResources(undefined), { memoryMiB: 2048, vcpus: 1 });
  assert.deepEqual(sizeFromResources([{ minimumMemoryInMiB: 512 }]), { memoryMiB: 512, vcpus: 0.25 });
  assert.deepEqual(sizeFromResources([{ minimumMemoryInMiB: 1024 }, { minimumMemoryInMiB: 8192 }]), { memoryMiB: 8192, vcpus: 4 });
});
