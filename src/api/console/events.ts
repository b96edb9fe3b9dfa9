/**
 * State changes of microVMs as the console streams them (server-sent events), and a bounded
 * in-memory history per microVM (since this daemon started) for the detail page.
 */
export interface StateEvent {
  microvmId: string;
  tenantId: string;
  from: string;
  to: string;
  at: string;
}

const HISTORY_PER_MICROVM = 50;
const MICROVMS_REMEMBERED = 2000;

export class ConsoleEvents {
  private readonly listeners = new Set<(e: StateEvent) => void>();
  private readonly history = new Map<string, StateEvent[]>();

  publish(e: Omit<StateEvent, 'at'>): void {
    const event = { ...e, at: new Date().toISOString() };
    let h = this.history.get(e.microvmId);
    if (!h) {
      if (this.history.size >= MICROVMS_REMEMBERED) this.history.delete(this.history.keys().next().value as string);
      h = [];
      this.history.set(e.microvmId, h);
    }
    h.push(event);
    if (h.length > HISTORY_PER_MICROVM) h.shift();
    for (const l of this.listeners) l(event);
  }

  historyOf(microvmId: string): StateEvent[] {
    return [...(this.history.get(microvmId) ?? [])];
  }

  subscribe(listener: (e: StateEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
