/** Counts a tenant's uploaded artifacts on disk: <artifactsDir>/<tenantId>/*.zip (not .part files in flight). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ArtifactUsagePort } from '../core/ports/artifacts.js';

export function diskArtifactUsage(artifactsDir: string): ArtifactUsagePort {
  return {
    async usage(tenantId) {
      const dir = path.join(artifactsDir, tenantId);
      let count = 0;
      let bytes = 0;
      for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
        if (!f.endsWith('.zip')) continue;
        // Removed meanwhile (the GC): not counted.
        const st = await fs.stat(path.join(dir, f)).catch(() => undefined);
        if (!st?.isFile()) continue;
        count++;
        bytes += st.size;
      }
      return { count, bytes };
    },
  };
}
