import assert from 'node:assert/strict';
import type { SandboxRuntime } from '../../../src/core/ports/runtime.js';

/**
 * Destroys that only clean up after a test run in the background, so the next test does not wait
 * for a sandbox to die. drain() waits for them all, and fails on any error, before a test looks at
 * the whole host (lists, sweeps, leak checks) and in after().
 */
export function backgroundDestroys(runtime: () => SandboxRuntime): { release(...ids: string[]): void; drain(): Promise<void> } {
  const pending: Promise<void>[] = [];
  const failures: string[] = [];
  return {
    release(...ids) {
      for (const id of ids)
        pending.push(
          runtime()
            .destroy(id)
            .catch((e: unknown) => void failures.push(`destroy ${id}: ${String(e)}`)),
        );
    },
    async drain() {
      await Promise.all(pending.splice(0));
      assert.deepEqual(failures.splice(0), [], 'background destroys of earlier tests failed');
    },
  };
}
