/**
 * One keep-alive connection pool per microVM, so requests reuse connections to the app and one
 * microVM's pool can be dropped (after a suspend/resume cut its connections) without touching
 * the others.
 */
import { Agent } from 'node:http';

export interface AgentOptions {
  /** Cap on concurrent connections to one microVM. */
  maxSockets: number;
  /** Idle pooled connections close after this; below common app keep-alive timeouts (5 s). */
  idleTimeoutMs: number;
}

export class UpstreamAgents {
  private readonly pools = new Map<string, { address: string; agent: Agent }>();

  constructor(private readonly opts: AgentOptions) {}

  get(microvmId: string, address: string): Agent {
    const pool = this.pools.get(microvmId);
    if (pool && pool.address === address) return pool.agent;
    pool?.agent.destroy();
    // `timeout` only closes pooled idle sockets (Node destroys free sockets on timeout).
    const agent = new Agent({
      keepAlive: true,
      noDelay: true,
      maxSockets: this.opts.maxSockets,
      timeout: this.opts.idleTimeoutMs,
    });
    this.pools.set(microvmId, { address, agent });
    return agent;
  }

  /** Closes a microVM's pooled connections (in-flight requests keep theirs). */
  evict(microvmId: string): void {
    const pool = this.pools.get(microvmId);
    if (!pool) return;
    this.pools.delete(microvmId);
    for (const list of Object.values(pool.agent.freeSockets)) for (const s of list ?? []) s.destroy();
  }

  closeAll(): void {
    for (const { agent } of this.pools.values()) agent.destroy();
    this.pools.clear();
  }
}
