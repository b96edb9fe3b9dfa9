/**
 * One connection serves the whole process, and an operation or a transaction spans awaits: while
 * one is under way, other callers must wait their turn or their statements would land inside it.
 * The gate is that turn: a FIFO lock held by an operation, a transaction (or close) and waited on
 * by everyone else.
 */
export class Gate {
  #held = false;
  readonly #waiters: Array<() => void> = [];
  readonly #release = (): void => this.release();

  get held(): boolean {
    return this.#held;
  }

  acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Hands the lock straight to the next waiter, so nobody can cut in between. */
  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#held = false;
  }

  /** fn while holding the gate; a free gate is taken at once, without waiting a turn of the event loop. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#held) return this.acquire().then(() => this.#holding(fn));
    this.#held = true;
    return this.#holding(fn);
  }

  #holding<T>(fn: () => Promise<T>): Promise<T> {
    let p: Promise<T>;
    try {
      p = fn();
    } catch (e) {
      this.release();
      return Promise.reject(e);
    }
    // Attached before the caller's own continuation: the next waiter gets the gate first.
    p.then(this.#release, this.#release);
    return p;
  }
}
