/**
 * Runs at most `limit` jobs at once, and when a slot frees hands it to the next tenant in turn
 * (round-robin over tenants with waiting jobs, FIFO within a tenant), so one tenant queueing many
 * builds cannot starve another's.
 */
export class FairQueue {
  private active = 0;
  /** Waiting jobs per key; the Map's order is the round-robin order. */
  private readonly waiting = new Map<string, Array<() => void>>();

  constructor(private readonly limit: number) {}

  /** Jobs waiting for a slot (all keys, or one). */
  queued(key?: string): number {
    if (key !== undefined) return this.waiting.get(key)?.length ?? 0;
    let n = 0;
    for (const q of this.waiting.values()) n += q.length;
    return n;
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      await new Promise<void>((resolve) => {
        const q = this.waiting.get(key);
        if (q) q.push(resolve);
        else this.waiting.set(key, [resolve]);
      });
    } else {
      this.active++;
    }
    try {
      return await fn();
    } finally {
      this.next();
    }
  }

  /** The slot passes straight to the next waiter (active stays the same), or is freed. */
  private next(): void {
    const first = this.waiting.entries().next();
    if (first.done) {
      this.active--;
      return;
    }
    const [key, q] = first.value;
    const wake = q.shift();
    // This tenant goes to the back of the turn order.
    this.waiting.delete(key);
    if (q.length > 0) this.waiting.set(key, q);
    wake?.();
  }
}
