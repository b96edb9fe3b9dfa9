/** The DNS half of a sandbox's egress audit: counted per (name, type), bounded, oldest dropped. */
import type { DnsQuestionAudit, EgressAudit } from '../../../core/ports/network.js';

export const MAX_QUESTIONS = 256;
const MAX_ADDRESSES = 8;

export class DnsAudit {
  private readonly questions = new Map<string, DnsQuestionAudit>();
  readonly totals: EgressAudit['dns']['totals'] = { queries: 0, allowed: 0, refused: 0, failed: 0, limited: 0 };

  record(name: string, type: string, verdict: DnsQuestionAudit['verdict'], opened?: string[], blocked?: string[]): void {
    this.totals.queries++;
    this.totals[verdict]++;
    const key = `${name}\u0000${type}`;
    const prev = this.questions.get(key);
    // Re-inserted so the map's order is least recently asked first: eviction takes the head.
    this.questions.delete(key);
    const entry: DnsQuestionAudit = { name, type, verdict, count: (prev?.count ?? 0) + 1, lastAt: new Date().toISOString() };
    if (opened?.length) entry.opened = opened.slice(0, MAX_ADDRESSES);
    if (blocked?.length) entry.blocked = blocked.slice(0, MAX_ADDRESSES);
    this.questions.set(key, entry);
    if (this.questions.size > MAX_QUESTIONS) {
      const oldest = this.questions.keys().next().value;
      if (oldest !== undefined) this.questions.delete(oldest);
    }
  }

  snapshot(): EgressAudit['dns'] {
    return { totals: { ...this.totals }, questions: [...this.questions.values()].reverse().map((q) => ({ ...q })) };
  }
}

/** A token bucket: `rate` per second, bursts of `burst`. */
export class RateLimit {
  private tokens: number;
  private at = Date.now();
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
