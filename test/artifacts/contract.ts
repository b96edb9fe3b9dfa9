/**
 * The artifact-usage port's contract (src/core/ports/artifacts.ts), run by every implementation:
 * what a tenant's stored uploads take, per tenant, partial uploads excluded.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ArtifactUsagePort } from '../../src/core/ports/artifacts.js';

/** A port plus the way to store (or start) an upload in it, as the upload route does. */
export interface ArtifactUsageRig {
  port: ArtifactUsagePort;
  store(tenantId: string, id: string, bytes: number): Promise<void>;
  storePartial(tenantId: string, id: string, bytes: number): Promise<void>;
  remove(tenantId: string, id: string): Promise<void>;
}

export function runArtifactUsageContract(name: string, make: () => Promise<ArtifactUsageRig>): void {
  describe(`artifact usage port contract: ${name}`, () => {
    test('a tenant with nothing stored uses nothing', async () => {
      const rig = await make();
      assert.deepEqual(await rig.port.usage('t-none'), { count: 0, bytes: 0 });
    });

    test('stored uploads count per tenant, with their bytes; partial ones do not; a removed one frees its share', async () => {
      const rig = await make();
      await rig.store('t1', 'aaaaaaaa', 100);
      await rig.store('t1', 'bbbbbbbb', 50);
      await rig.store('t2', 'cccccccc', 7);
      await rig.storePartial('t1', 'dddddddd', 1000);
      assert.deepEqual(await rig.port.usage('t1'), { count: 2, bytes: 150 });
      assert.deepEqual(await rig.port.usage('t2'), { count: 1, bytes: 7 });
      await rig.remove('t1', 'aaaaaaaa');
      assert.deepEqual(await rig.port.usage('t1'), { count: 1, bytes: 50 });
    });
  });
}
