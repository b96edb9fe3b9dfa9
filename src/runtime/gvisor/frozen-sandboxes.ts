/**
 * Which sandboxes are frozen, and a guard for the runsc commands that would block on one
 * (`runsc state` and `runsc list` ask the sandbox itself and wait forever while it is frozen).
 * A freeze marks the sandbox first and then waits for the queries in flight, so a query sees
 * the mark or finishes before the sandbox stops. The freezer files are the truth across
 * daemon restarts; the marks only cover the moments of a freeze.
 */
import type { SandboxState } from '../../core/ports/runtime.js';
import { CubbyError } from '../../errors/index.js';
import { SandboxFreezer } from './freezer.js';

/** A freeze waits at most this long for queries in flight (runsc's own timeout ends a stuck one). */
const QUIESCE_MS = 5000;

export class FrozenSandboxes {
  private readonly marked = new Set<string>();
  private inflight = 0;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly cgroup: (id: string) => string,
    private readonly freezer = new SandboxFreezer(),
  ) {}

  async is(id: string): Promise<boolean> {
    return this.marked.has(id) || (await this.freezer.state(this.cgroup(id))) === 'frozen';
  }

  async refuse(id: string, what: string): Promise<void> {
    if (await this.is(id)) throw new CubbyError('RUNTIME_BAD_STATE', `cannot ${what} sandbox ${id}: it is frozen (idle); thaw it first`);
  }

  /** Runs a runsc command that talks to sandboxes; a freeze waits until it is done. */
  async during<T>(fn: () => Promise<T>): Promise<T> {
    this.inflight++;
    try {
      return await fn();
    } finally {
      if (--this.inflight === 0) for (const w of this.waiters.splice(0)) w();
    }
  }

  /** States of `ids`: 'frozen' from the freezer, the others from `ask` (run inside `during`). */
  query(ids: string[], ask: (others: string[]) => Promise<Map<string, SandboxState>>): Promise<Map<string, SandboxState>> {
    return this.during(async () => {
      const frozen: string[] = [];
      const others: string[] = [];
      for (const id of ids) ((await this.is(id)) ? frozen : others).push(id);
      const states = others.length ? await ask(others) : new Map<string, SandboxState>();
      for (const id of frozen) states.set(id, 'frozen');
      return states;
    });
  }

  async freeze(id: string): Promise<void> {
    this.marked.add(id);
    try {
      if (this.inflight > 0) {
        await Promise.race([new Promise<void>((r) => this.waiters.push(r)), new Promise<void>((r) => setTimeout(r, QUIESCE_MS).unref())]);
      }
      await this.freezer.freeze(this.cgroup(id));
    } finally {
      this.marked.delete(id);
    }
  }

  async thaw(id: string): Promise<void> {
    await this.freezer.thaw(this.cgroup(id));
    this.marked.delete(id);
  }
}
