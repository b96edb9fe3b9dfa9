/**
 * The agent's limits (agent.ts): a sandbox under the agent has no address-space limit (Go
 * reserves ~700 MiB at start, more than a small sandbox's default of 3/4 of its memory), and
 * nothing else of its limits changes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withoutAddressSpace } from '../../../src/core/images/agent.js';
import { sandboxLimits } from '../../../src/core/images/pipeline.js';
import { fakeSettings } from '../../support/fakes/core.js';

const MiB = 1024 * 1024;

test('a 512 MiB agent image: the sandbox has no RLIMIT_AS; memory, processes and disk stay as set', () => {
  const limits = sandboxLimits({ ...fakeSettings(), memoryMiB: 512, agent: true, sandbox: { maxProcesses: 64, addressSpaceMiB: 300 } });
  const under = withoutAddressSpace(limits);
  assert.equal(under.rlimits?.addressSpaceBytes, 0, '0 turns the runtime default off');
  assert.equal(under.rlimits?.processes, 64);
  assert.equal(under.memoryBytes, 512 * MiB);
});
