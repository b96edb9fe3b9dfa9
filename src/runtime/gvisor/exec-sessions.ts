/**
 * The live exec sessions of each sandbox. Their stdio are host pipes, which a checkpoint cannot
 * carry (gVisor refuses to restore such a process), so a checkpoint ends them first (see end).
 */
import type { ExecHandle, ExecOptions } from '../../core/ports/runtime.js';
import { startExec } from './exec.js';

export interface ExecSessionsOptions {
  binary: string;
  root: string;
  /** A private directory for the sandbox's n-th exec. */
  workDir: (id: string, n: number) => string;
}

export class ExecSessions {
  private counter = 0;
  private readonly live = new Map<string, Set<ExecHandle>>();

  constructor(private readonly opts: ExecSessionsOptions) {}

  /** Starts a process in sandbox `id` with runsc exec and tracks it until it exits. */
  async start(id: string, opts: ExecOptions): Promise<ExecHandle> {
    const h = await startExec({ binary: this.opts.binary, root: this.opts.root, id, workDir: this.opts.workDir(id, ++this.counter) }, opts);
    const live = this.live.get(id) ?? new Set<ExecHandle>();
    this.live.set(id, live);
    live.add(h);
    void h.exit.finally(() => {
      live.delete(h);
      if (live.size === 0 && this.live.get(id) === live) this.live.delete(id);
    });
    return h;
  }

  /**
   * Ends the sandbox's exec sessions (SIGKILL, then up to 5 s for them to exit): commands and
   * shells are transient; the sandbox's own processes are what a checkpoint keeps.
   */
  async end(id: string): Promise<void> {
    const live = [...(this.live.get(id) ?? [])];
    for (const h of live) h.kill('SIGKILL');
    await Promise.race([Promise.all(live.map((h) => h.exit)), new Promise((r) => setTimeout(r, 5000))]);
  }
}
