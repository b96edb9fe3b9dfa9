/**
 * Uploaded code artifacts are kept for a day (long enough for the builds that name them and a
 * few retries), then removed, so uploads cannot fill the disk over time.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';

export function startArtifactGc(dir: string, log: Logger, opts: { maxAgeMs?: number; everyMs?: number } = {}): () => void {
  const maxAge = opts.maxAgeMs ?? 24 * 3600_000;
  const sweep = async () => {
    const cutoff = Date.now() - maxAge;
    for (const tenant of await fs.readdir(dir).catch(() => [] as string[])) {
      for (const f of await fs.readdir(path.join(dir, tenant)).catch(() => [] as string[])) {
        const p = path.join(dir, tenant, f);
        const st = await fs.stat(p).catch(() => undefined);
        if (st && st.mtimeMs < cutoff)
          await fs.rm(p, { force: true }).then(
            () => log.info({ artifact: p }, 'removed an expired upload'),
            () => undefined,
          );
      }
    }
  };
  const timer = setInterval(() => void sweep(), opts.everyMs ?? 3600_000);
  timer.unref();
  void sweep();
  return () => clearInterval(timer);
}
