/** The per-sandbox record the gVisor runtime keeps on disk (so a restarted daemon re-adopts it). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ProcessSpec, ReadOnlyMount, ResourceLimits } from '../../core/ports/runtime.js';
import type { EgressPolicy, SandboxNetwork } from '../../core/ports/network.js';

export interface SandboxRecord {
  id: string;
  rootfs: string;
  process: ProcessSpec;
  limits?: ResourceLimits;
  mounts?: ReadOnlyMount[];
  /** The root overlay's medium: `root:dir` (its own disk, limits.diskBytes) or `root:memory` (older). */
  overlay?: string;
  hostname?: string;
  egress: EgressPolicy;
  labels: Record<string, string>;
  logLimitBytes: number;
  createdAt: string;
  /** Set once the network exists, so a sweep after a crash can release it. */
  network?: SandboxNetwork;
  restoredFrom?: string;
}

/** What a sandbox is started from: kept in its record and carried in its checkpoints (restore needs it back). */
export type SandboxStartSpec = Pick<
  SandboxRecord,
  'rootfs' | 'process' | 'limits' | 'mounts' | 'hostname' | 'egress' | 'labels' | 'createdAt'
>;

export class SandboxDirs {
  constructor(readonly root: string) {}
  dir(id: string): string {
    return path.join(this.root, id);
  }
  bundle(id: string): string {
    return path.join(this.root, id, 'bundle');
  }
  meta(id: string): string {
    return path.join(this.root, id, 'meta.json');
  }
  execDir(id: string, n: number): string {
    return path.join(this.root, id, 'exec', String(n));
  }

  /** Creates the sandbox directory; fails with EEXIST when the id is taken (atomic claim). */
  async claim(id: string): Promise<void> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
    await fs.mkdir(this.dir(id), { mode: 0o700 });
    await fs.mkdir(this.bundle(id), { mode: 0o700 });
  }

  async write(rec: SandboxRecord): Promise<void> {
    const tmp = `${this.meta(rec.id)}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(rec, null, 2), { mode: 0o600 });
    await fs.rename(tmp, this.meta(rec.id));
  }

  async read(id: string): Promise<SandboxRecord | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.meta(id), 'utf8')) as SandboxRecord;
    } catch {
      return undefined;
    }
  }

  async exists(id: string): Promise<boolean> {
    return fs.access(this.meta(id)).then(
      () => true,
      () => false,
    );
  }

  async ids(): Promise<string[]> {
    return fs.readdir(this.root).catch(() => []);
  }

  async remove(id: string): Promise<void> {
    await fs.rm(this.dir(id), { recursive: true, force: true });
  }
}
