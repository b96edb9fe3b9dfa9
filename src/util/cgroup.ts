/** Removing cgroup directories (cgroup v1: one per controller). */
import { promises as fs } from 'node:fs';

/**
 * rmdir of one cgroup; quiet when it is gone. A cgroup whose processes were just killed says
 * EBUSY while their tasks are still dying: that is retried for up to `busyWaitMs`.
 */
export async function removeCgroupDir(dir: string, busyWaitMs = 0): Promise<void> {
  const until = Date.now() + busyWaitMs;
  for (;;) {
    const code = await fs.rmdir(dir).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e.code,
    );
    if (code !== 'EBUSY' || Date.now() >= until) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
