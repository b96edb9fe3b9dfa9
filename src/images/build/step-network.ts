/**
 * Which RUN steps of a build used its network, for the layer cache's rule (cache-rule.ts). Read
 * from the build network's egress audit (the driver's: questions Cubby's resolver answered for
 * the build's address, and new connections per destination with packet counters), taken when a
 * step starts (its STEP line) and when it is committed: steps run one at a time in the build's
 * one netns, and the next step's sandbox starts only after the commit, so the difference between
 * the two readings is that step's own. A reading that fails counts as no use (the step is then
 * cached by its duration only).
 */
import type { EgressAudit, NetworkPort } from '../../core/ports/network.js';

/** What changes when the sandbox resolves a name or opens a connection. */
type Reading = Map<string, number>;

function reading(a: EgressAudit): Reading {
  const r: Reading = new Map([['dns', a.dns.totals.queries]]);
  for (const [verdict, list] of [
    ['allowed', a.connections.allowed],
    ['denied', a.connections.denied],
  ] as const) {
    for (const c of list) r.set(`${verdict} ${c.address} ${c.protocol} ${c.port}`, c.count);
  }
  return r;
}

/** Whether anything grew (a new destination, more packets, more questions) from `a` to `b`. */
function grew(a: Reading, b: Reading): boolean {
  for (const [k, n] of b) if (n > (a.get(k) ?? 0)) return true;
  return false;
}

export class StepNetworkUse {
  private readonly starts = new Map<number, Promise<Reading | undefined>>();
  private readonly ends = new Map<number, Promise<Reading | undefined>>();

  constructor(
    private readonly port: Pick<NetworkPort, 'egressAudit'>,
    private readonly sandboxAddress: string,
  ) {}

  private read(): Promise<Reading | undefined> {
    const audit = this.port.egressAudit?.(this.sandboxAddress);
    return audit ? audit.then((a) => (a ? reading(a) : undefined)).catch(() => undefined) : Promise.resolve(undefined);
  }

  /** The step at `index` started (called as its STEP line arrives). */
  started(index: number): void {
    this.starts.set(index, this.read());
  }

  /** The step at `index` was committed. */
  ended(index: number): void {
    if (this.starts.has(index)) this.ends.set(index, this.read());
  }

  /** Whether the step at `index` resolved a name or opened a connection (false when not known). */
  async used(index: number): Promise<boolean> {
    const [a, b] = await Promise.all([this.starts.get(index), this.ends.get(index)]);
    return !!a && !!b && grew(a, b);
  }
}
