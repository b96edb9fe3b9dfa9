/**
 * Where the time goes: wraps async methods of live objects (the daemon's runtime, network,
 * hooks) to record how long each call took, by label, without touching the code under test.
 */
import { median } from './stats.js';

type AnyFn = (...args: unknown[]) => unknown;

export class Phases {
  private readonly samples = new Map<string, number[]>();
  private readonly undo: Array<() => void> = [];

  /** Times every call of obj[method]; `label` may name the call from its arguments. */
  wrap(obj: object, method: string, label: string | ((...args: unknown[]) => string) = method): void {
    const target = obj as Record<string, AnyFn>;
    const original = target[method];
    if (typeof original !== 'function') throw new Error(`no method ${method} to time`);
    const record = (name: string, ms: number) => {
      const list = this.samples.get(name) ?? [];
      list.push(ms);
      this.samples.set(name, list);
    };
    target[method] = function timedCall(this: unknown, ...args: unknown[]) {
      const name = typeof label === 'function' ? label(...args) : label;
      const t0 = performance.now();
      const out = original.apply(this, args);
      if (out instanceof Promise) return out.finally(() => record(name, performance.now() - t0));
      record(name, performance.now() - t0);
      return out;
    };
    this.undo.push(() => {
      target[method] = original;
    });
  }

  /** Samples recorded since the last clear(). */
  get(name: string): number[] {
    return [...(this.samples.get(name) ?? [])];
  }
  clear(): void {
    this.samples.clear();
  }

  /** One line: label p50 (n) for every label seen. */
  summary(): string {
    return [...this.samples].map(([k, v]) => `${k} ${median(v).toFixed(1)} ms (n=${v.length})`).join('; ');
  }

  restore(): void {
    for (const u of this.undo.reverse()) u();
    this.undo.length = 0;
  }
}

/** A label naming who made the call: of `callers` (function names), the innermost on the stack. */
export function byCaller(base: string, callers: Record<string, string>): () => string {
  return () => {
    const stack = new Error().stack ?? '';
    let best: { at: number; name: string } | undefined;
    for (const [fn, name] of Object.entries(callers)) {
      const at = stack.indexOf(fn);
      if (at >= 0 && (!best || at < best.at)) best = { at, name };
    }
    return `${base} (${best?.name ?? 'other'})`;
  };
}
