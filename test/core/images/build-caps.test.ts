/** Build caps: defaults, lowered to the operator's maximum; over it (or under the minimum) refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCaps, checkBuildCaps } from '../../../src/core/images/build-caps.js';
import { isCubbyError } from '../../../src/errors/index.js';

test('defaults, and defaults lowered to a smaller maximum', () => {
  assert.deepEqual(buildCaps(undefined), { diskMiB: 8192, memoryMiB: 2048 });
  assert.deepEqual(buildCaps({}, { diskMaxMiB: 1024, memoryMaxMiB: 512 }), { diskMiB: 1024, memoryMiB: 512 });
  assert.deepEqual(buildCaps({ diskMiB: 300, memoryMiB: 256 }), { diskMiB: 300, memoryMiB: 256 });
});

test('over the maximum or under the minimum is a validation error naming the bound', () => {
  const refused = (b: Parameters<typeof checkBuildCaps>[0], re: RegExp) =>
    assert.throws(
      () => checkBuildCaps(b, { diskMaxMiB: 4096, memoryMaxMiB: 1024 }),
      (e: unknown) => isCubbyError(e, 'CUBBY_VALIDATION') && re.test(e.message),
    );
  refused({ diskMiB: 4097 }, /disk cap of 4097 MiB is over this host's maximum of 4096 MiB/);
  refused({ memoryMiB: 2048 }, /memory cap of 2048 MiB is over this host's maximum of 1024 MiB/);
  refused({ diskMiB: 100 }, /at least 256/);
  refused({ memoryMiB: 1.5 }, /whole number/);
  checkBuildCaps({ diskMiB: 4096, memoryMiB: 1024 }, { diskMaxMiB: 4096, memoryMaxMiB: 1024 });
});
