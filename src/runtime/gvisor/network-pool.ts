/**
 * Networks kept ready (netns, veth, rules; egress closed) so create and restore skip building
 * one. A pooled network is owned by `<tag>:pool-<pid>-<n>` until a sandbox adopts it; the
 * sweep must keep those (see holds).
 */
import type { EgressPolicy, NetworkPort, SandboxNetwork } from '../../core/ports/network.js';

export class NetworkPool {
  private readonly ready: SandboxNetwork[] = [];
  private filling = 0;
  private seq = 0;
  private closed = false;
  private readonly ownerPrefix: string;

  constructor(
    private readonly network: NetworkPort,
    tag: string,
    private readonly size: number,
  ) {
    this.ownerPrefix = `${tag}:pool-${process.pid}-`;
  }

  /** A network for `owner`: a pooled one when there is one (adopted, policy applied), else a fresh one. */
  async take(owner: string, egress: EgressPolicy): Promise<SandboxNetwork> {
    const pooled = this.ready.shift();
    this.refill();
    if (pooled) {
      try {
        const net = await this.network.adopt(pooled, owner);
        if (egress.mode !== 'closed') await this.network.setPolicy(net, egress);
        return net;
      } catch {
        await this.network.release(pooled).catch(() => undefined);
      }
    }
    return this.network.allocate(owner, egress);
  }

  /** Whether a network of this owner belongs to the pool (ready or still being built). */
  holds(owner: string): boolean {
    return owner.startsWith(this.ownerPrefix) || this.ready.some((n) => n.owner === owner);
  }

  /** Stops refilling and releases the ready networks; one still being built is released when done. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.ready.splice(0).map((n) => this.network.release(n).catch(() => undefined)));
  }

  private refill(): void {
    while (!this.closed && this.ready.length + this.filling < this.size) {
      this.filling++;
      void this.network.allocate(`${this.ownerPrefix}${++this.seq}`, { mode: 'closed' }).then(
        async (net) => {
          this.filling--;
          if (this.closed) await this.network.release(net).catch(() => undefined);
          else this.ready.push(net);
        },
        () => {
          this.filling--; /* the next create allocates directly; a later take retries the pool */
        },
      );
    }
  }
}
