import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LambdaArns } from '../../../../src/api/lambda/arn.js';
import { settingsFromWire, settingsToWire } from '../../../../src/api/lambda/mapping/image-settings.js';
import { CreateMicrovmImageBody } from '../../../../src/api/lambda/schemas/images.js';
import { sandboxLimits } from '../../../../src/core/images/pipeline.js';

const arns = new LambdaArns('local');
const base = {
  name: 'app',
  baseImageArn: 'debian-12-python',
  codeArtifact: { uri: 'cubby-artifact://abcdefgh' },
  resources: [{ minimumMemoryInMiB: 1024 }],
};

test('per-image microVM limits reach the runtime limits; absent ones are left to the runtime defaults', () => {
  const body = CreateMicrovmImageBody.parse({ ...base, cubbyDiskMiB: 512, cubbyMaxProcesses: 64, cubbyAddressSpaceMiB: 0 });
  const settings = settingsFromWire(body, arns);
  assert.deepEqual(settings.sandbox, { diskMiB: 512, maxProcesses: 64, addressSpaceMiB: 0 });
  const limits = sandboxLimits(settings);
  assert.equal(limits.diskBytes, 512 * 1024 * 1024);
  // 0 is passed on (it turns the address-space limit off), not dropped as "unset".
  assert.deepEqual(limits.rlimits, { processes: 64, addressSpaceBytes: 0 });
  const wire = settingsToWire(settings, arns);
  assert.equal(wire.cubbyDiskMiB, 512);
  assert.equal(wire.cubbyAddressSpaceMiB, 0);

  const plain = sandboxLimits(settingsFromWire(CreateMicrovmImageBody.parse(base), arns));
  assert.equal(plain.diskBytes, undefined);
  assert.equal(plain.rlimits, undefined);
  assert.equal(plain.memoryBytes, 1024 * 1024 * 1024);
});

test('limits out of range are refused by the schema', () => {
  for (const bad of [{ cubbyDiskMiB: 10 }, { cubbyMaxProcesses: 2 }, { cubbyAddressSpaceMiB: -1 }, { cubbyMaxProcesses: 1.5 }]) {
    assert.equal(CreateMicrovmImageBody.safeParse({ ...base, ...bad }).success, false, JSON.stringify(bad));
  }
});
