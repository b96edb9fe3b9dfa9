/**
 * Inbound activity per microVM, as the endpoint gateway reports it. A microVM is idle when no
 * request or WebSocket is open and none has ended for maxIdle seconds; outbound work from
 * inside never counts.
 */
export type ActivityKind = 'request-start' | 'request-end' | 'ws-open' | 'ws-close';

export class ActivityTracker {
  private readonly open = new Map<string, number>();
  private readonly last = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  record(id: string, kind: ActivityKind): void {
    const n = this.open.get(id) ?? 0;
    if (kind === 'request-start' || kind === 'ws-open') this.open.set(id, n + 1);
    else this.open.set(id, Math.max(0, n - 1));
    this.last.set(id, this.now());
  }

  /** Marks the start of a fresh idle period (launch, resume, daemon restart). */
  reset(id: string): void {
    this.last.set(id, this.now());
  }

  /** Milliseconds since the last inbound activity; 0 while something is open. */
  idleMs(id: string): number {
    if ((this.open.get(id) ?? 0) > 0) return 0;
    return this.now() - (this.last.get(id) ?? this.now());
  }

  lastActivity(id: string): number | undefined {
    return this.last.get(id);
  }

  forget(id: string): void {
    this.open.delete(id);
    this.last.delete(id);
  }
}
