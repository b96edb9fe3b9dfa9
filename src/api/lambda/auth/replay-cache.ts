/**
 * Remembers the signatures of accepted requests until their date leaves the allowed window,
 * so a captured request cannot be sent again. Bounded: past `capacity` the oldest entries go
 * first (a request evicted that way could be replayed until its window closes; the capacity is
 * sized so that only a flood of more than `capacity` requests in 5 minutes gets there).
 */
export class ReplayCache {
  private readonly entries = new Map<string, number>();

  constructor(private readonly capacity = 100_000) {}

  /** Records the signature; false when it was already seen and is still within its window. */
  remember(signature: string, expiresAtMs: number, nowMs: number): boolean {
    this.prune(nowMs);
    const seenUntil = this.entries.get(signature);
    if (seenUntil !== undefined && seenUntil >= nowMs) return false;
    this.entries.delete(signature);
    this.entries.set(signature, expiresAtMs);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Drops expired entries from the front (insertion order is close to expiry order). */
  private prune(nowMs: number): void {
    for (const [signature, expiresAt] of this.entries) {
      if (expiresAt >= nowMs) break;
      this.entries.delete(signature);
    }
  }
}
