/**
 * The floor for launch and resume: raw runsc restores one of Cubby's checkpoints (with the
 * spec it was made with) into a fresh netns, until the app's first HTTP 200 on :8080.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { newSandboxId } from '../../src/runtime/gvisor/index.js';
import { MANIFEST, type CheckpointManifest } from '../../src/runtime/gvisor/checkpoint-manifest.js';
import { RawRunsc } from './raw-runsc.js';
import { untilOk } from './http-probe.js';
import { DISK_OVERLAY } from '../../src/runtime/gvisor/sandbox-disk.js';
import { DEFAULT_DISK_BYTES } from '../../src/runtime/gvisor/runtime.js';

export interface RawClone {
  id: string;
  ns: string;
  idx: number;
  address: string;
}

export class RawRestorer {
  private readonly clones = new Set<RawClone>();
  private constructor(
    readonly raw: RawRunsc,
    private readonly m: CheckpointManifest,
  ) {}

  /** `checkpointDir`: any checkpoint of the image (they share rootfs and spec). */
  static async open(workDir: string, checkpointDir: string): Promise<RawRestorer> {
    const m = JSON.parse(await fs.readFile(path.join(checkpointDir, MANIFEST), 'utf8')) as CheckpointManifest;
    return new RawRestorer(new RawRunsc(workDir, m.rootfs), m);
  }

  /**
   * netns + bundle + runsc restore + first 200 on :8080; the clone stays until destroy().
   * ms: all of it; restoreMs: until runsc restore returned; and the parts.
   */
  async restore(
    checkpointDir: string,
  ): Promise<{ ms: number; restoreMs: number; netnsMs: number; runscMs: number; firstAnswerMs: number; clone: RawClone }> {
    const t0 = performance.now();
    const id = newSandboxId();
    const { ns, idx } = await this.raw.netns();
    const netnsMs = performance.now() - t0;
    const clone = { id, ns, idx, address: this.raw.address(idx) };
    this.clones.add(clone);
    const bundle = await this.raw.bundle(id, ns, this.m.process, {
      limits: this.m.limits,
      hostname: this.m.hostname,
      ...(this.m.mounts?.length ? { mounts: this.m.mounts } : {}),
    });
    if (this.m.overlay === DISK_OVERLAY) this.raw.useOverlay(id, await this.raw.disk(id, this.m.limits?.diskBytes ?? DEFAULT_DISK_BYTES));
    const t1 = performance.now();
    await this.raw.restore(id, bundle, checkpointDir);
    const t2 = performance.now();
    const firstAnswerMs = await untilOk({ host: clone.address, port: 8080, path: '/state' });
    return { ms: performance.now() - t0, restoreMs: t2 - t0, netnsMs, runscMs: t2 - t1, firstAnswerMs, clone };
  }

  /** Raw checkpoint of a clone (its sandbox stops), like a suspend. */
  async checkpoint(c: RawClone, dir: string): Promise<void> {
    await fs.mkdir(dir, { recursive: true });
    await this.raw.checkpoint(c.id, dir);
  }

  async destroy(c: RawClone): Promise<void> {
    this.clones.delete(c);
    await this.raw.destroy(c.id, c.ns, c.idx);
  }

  async close(): Promise<void> {
    for (const c of [...this.clones]) await this.destroy(c);
    await this.raw.close();
  }
}
