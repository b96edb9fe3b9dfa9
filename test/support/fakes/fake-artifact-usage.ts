/** The artifact-usage port in memory (test-only): uploads as (tenant, id) -> bytes. */
import type { ArtifactUsagePort } from '../../../src/core/ports/artifacts.js';

export class FakeArtifactUsage implements ArtifactUsagePort {
  readonly stored = new Map<string, Map<string, { bytes: number; partial: boolean }>>();

  put(tenantId: string, id: string, bytes: number, partial = false): void {
    const t = this.stored.get(tenantId) ?? new Map<string, { bytes: number; partial: boolean }>();
    t.set(id, { bytes, partial });
    this.stored.set(tenantId, t);
  }

  async usage(tenantId: string): Promise<{ count: number; bytes: number }> {
    let count = 0;
    let bytes = 0;
    for (const u of this.stored.get(tenantId)?.values() ?? []) {
      if (u.partial) continue;
      count++;
      bytes += u.bytes;
    }
    return { count, bytes };
  }
}
