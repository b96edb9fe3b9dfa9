/**
 * Injectable faults and timing for the fakes: an operation can be made to fail (once or always),
 * to take a while, to wait at a gate the test opens, or to "crash" (never return, as when the
 * daemon dies mid-step), before or after its effect. Test-only.
 */
import { CubbyError } from '../../../src/errors/index.js';
import type { ErrorCode } from '../../../src/errors/index.js';

export type CrashPoint = 'before' | 'after';

interface Rule {
  op: string;
  when?: (arg: unknown) => boolean;
  times: number;
  action:
    { kind: 'fail'; error: () => Error } | { kind: 'crash'; at: CrashPoint } | { kind: 'gate'; wait: Promise<void>; entered: () => void };
}

/** A promise that never settles: the step "crashed" with the daemon. */
export const NEVER = new Promise<never>(() => undefined);

export class Faults {
  private rules: Rule[] = [];
  private readonly delays = new Map<string, number>();
  /** Every operation performed, in order (op names), for assertions. */
  readonly calls: string[] = [];

  /** Fails the next `times` calls of op (default once) with the given error (or code). */
  fail(
    op: string,
    error: Error | ErrorCode = 'RUNTIME_COMMAND_FAILED',
    opts: { times?: number; when?: (arg: unknown) => boolean } = {},
  ): this {
    const make = () => (typeof error === 'string' ? new CubbyError(error, `injected fault in ${op}`) : error);
    this.rules.push({ op, when: opts.when, times: opts.times ?? 1, action: { kind: 'fail', error: make } });
    return this;
  }

  /** The next call of op never returns: before its effect, or after it (the effect happened). */
  crash(op: string, at: CrashPoint = 'before', when?: (arg: unknown) => boolean): this {
    this.rules.push({ op, when, times: 1, action: { kind: 'crash', at } });
    return this;
  }

  /** The next call of op waits until the returned `open` is called; `entered` resolves once it waits. */
  gate(op: string): { entered: Promise<void>; open: () => void } {
    let open!: () => void;
    let entered!: () => void;
    const wait = new Promise<void>((r) => {
      open = r;
    });
    const enteredP = new Promise<void>((r) => {
      entered = r;
    });
    this.rules.push({ op, times: 1, action: { kind: 'gate', wait, entered } });
    return { entered: enteredP, open };
  }

  /** Every call of op takes ms. */
  delay(op: string, ms: number): this {
    this.delays.set(op, ms);
    return this;
  }

  clear(): void {
    this.rules = [];
    this.delays.clear();
  }

  /** Runs an operation through the rules: delay, gate, fail or crash, then effect. */
  async run<T>(op: string, arg: unknown, effect: () => Promise<T> | T): Promise<T> {
    this.calls.push(op);
    const ms = this.delays.get(op);
    if (ms) await new Promise((r) => setTimeout(r, ms));
    const i = this.rules.findIndex((r) => r.op === op && (!r.when || r.when(arg)));
    const rule = i >= 0 ? this.rules[i] : undefined;
    if (rule) {
      rule.times -= 1;
      if (rule.times <= 0) this.rules.splice(i, 1);
      const a = rule.action;
      if (a.kind === 'fail') throw a.error();
      if (a.kind === 'gate') {
        a.entered();
        await a.wait;
      }
      if (a.kind === 'crash') {
        if (a.at === 'after') await effect();
        return NEVER;
      }
    }
    return effect();
  }
}
