/**
 * One connection serves the whole process, and a transaction spans awaits: while one is open,
 * other callers must wait their turn or their statements would land inside it. The gate is that
 * turn: a FIFO lock held by a transaction (or by close) and waited on by everyone else.
 */
export class Gate {
  #held = false;
  readonly #waiters: Array<() => void> = [];

  get held(): boolean { return this.#held; }

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
}
