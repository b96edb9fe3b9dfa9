/**
 * The agent's limits (agent.ts): the sandbox under the agent has no address-space limit (Go
 * reserves ~700 MiB at start, more than a small sandbox's limit), and the agent is told the limit
 * to put on each process it starts: the image's, else the runtime's default of 3/4 of memory.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentArgs, childAddressSpace, withoutAddressSpace } from '../../../src/core/images/agent.js';
import { sandboxLimits } from '../../../src/core/images/pipeline.js';
import { fakeSettings } from '../../support/fakes/core.js';

const MiB = 1024 * 1024;

test('a 512 MiB agent image: the sandbox has no RLIMIT_AS, the agent puts 384 MiB on its children', () => {
  const limits = sandboxLimits({ ...fakeSettings(), memoryMiB: 512, agent: true });
  assert.equal(withoutAddressSpace(limits).rlimits?.addressSpaceBytes, 0);
  assert.equal(withoutAddressSpace(limits).memoryBytes, 512 * MiB, 'nothing else changes');
  const as = childAddressSpace(limits);
  assert.equal(as, 384 * MiB);
  const argv = agentArgs('user', ['python3', 'app.py'], as);
  assert.deepEqual(argv.slice(-5), ['--child-address-space', String(384 * MiB), '--', 'python3', 'app.py']);
});

test("the image's own limit wins; 0 (off, for Node or the JVM) passes no flag", () => {
  const own = sandboxLimits({ ...fakeSettings(), memoryMiB: 2048, sandbox: { addressSpaceMiB: 1000 } });
  assert.equal(childAddressSpace(own), 1000 * MiB);
  const off = sandboxLimits({ ...fakeSettings(), memoryMiB: 2048, sandbox: { addressSpaceMiB: 0 } });
  assert.equal(childAddressSpace(off), 0);
  assert.ok(!agentArgs('root', [], childAddressSpace(off)).includes('--child-address-space'));
});
