/**
 * One keep-alive connection pool per microVM, so requests reuse connections to the app and one
 * microVM's pool can be dropped (after a suspend/resume cut its connections) without touching
 * the others.
 *
 * A TCP connect into a freshly restored sandbox is slow (gVisor's netstack and the app's accept
 * path bring their pages in on first touch), so a launch may pre-connect one connection to the
 * app (preconnect()) while its run hook runs: the first request then finds it open. Such a
 * connection is bound to one microVM, address and port; any evict (suspend, terminate, resume,
 * thaw) destroys it, and it expires like an idle one.
 */
import { Agent, type ClientRequestArgs } from 'node:http';
import net, { type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface AgentOptions {
  /** Cap on concurrent connections to one microVM. */
  maxSockets: number;
  /** Idle pooled (and unused pre-connected) connections close after this; below common app keep-alive timeouts (5 s). */
  idleTimeoutMs: number;
}

/** Marks a socket that was pre-connected, not reused: a request that fails on it may be retried once. */
const PRECONNECTED = Symbol('cubby.preconnected');

/** Whether the request's socket was opened ahead of it (preconnect()), so never proven by a request. */
export function wasPreconnected(socket: Duplex | null | undefined): boolean {
  return Boolean(socket && (socket as Socket & { [PRECONNECTED]?: boolean })[PRECONNECTED]);
}

/** Bodiless methods the proxy retries once on a fresh connection (http-proxy.ts). */
const RETRIABLE = new Set(['GET', 'HEAD', 'OPTIONS']);

interface Parked {
  address: string;
  port: number;
  socket: Socket;
  timer: ReturnType<typeof setTimeout>;
  /** The watcher on error/end/close, removed at hand-over (net.Socket's own listeners stay). */
  drop: () => void;
}

export class UpstreamAgents {
  private readonly pools = new Map<string, { address: string; agent: Agent }>();
  /** Pre-connected, not yet used connections, per microVM. */
  private readonly parked = new Map<string, Parked[]>();

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
    // A new connection takes this microVM's pre-connected one first (same address and port only).
    const connect = (agent as unknown as { createConnection: (o: ClientRequestArgs, cb: unknown) => Duplex }).createConnection.bind(agent);
    (agent as unknown as { createConnection: (o: ClientRequestArgs, cb: unknown) => Duplex }).createConnection = (o, cb) =>
      this.take(microvmId, String(o.host), Number(o.port), o.method) ?? connect(o, cb);
    this.pools.set(microvmId, { address, agent });
    return agent;
  }

  /**
   * Opens one connection to the app ahead of the first request (synchronously, with the address
   * the core hands out, so no evict can come between). Kept until the next evict, for at most
   * the idle timeout, and dropped when the app closes it or it fails. Never throws: a failed
   * pre-connect just leaves the request to open its own.
   */
  preconnect(microvmId: string, address: string, port: number): void {
    const list = this.parked.get(microvmId) ?? [];
    if (list.some((p) => p.address === address && p.port === port)) return;
    const socket = net.connect({ host: address, port, noDelay: true });
    const drop = () => {
      this.unpark(microvmId, entry);
      socket.destroy();
    };
    const entry: Parked = { address, port, socket, timer: setTimeout(drop, this.opts.idleTimeoutMs), drop };
    entry.timer.unref?.();
    socket.on('error', drop);
    socket.once('end', drop);
    socket.once('close', drop);
    list.push(entry);
    this.parked.set(microvmId, list);
  }

  /**
   * Hands out a parked connection that is still usable, unparked and unwatched. One still
   * connecting goes only to a request the proxy may retry on a fresh connection (it may yet be
   * refused); others leave it parked and connect themselves.
   */
  private take(microvmId: string, address: string, port: number, method: string | undefined): Socket | undefined {
    const entry = this.parked.get(microvmId)?.find((p) => p.address === address && p.port === port);
    if (!entry || (entry.socket.connecting && !RETRIABLE.has(method ?? 'GET'))) return undefined;
    this.unpark(microvmId, entry);
    const s = entry.socket;
    s.off('error', entry.drop);
    s.off('end', entry.drop);
    s.off('close', entry.drop);
    if (s.destroyed || s.readableEnded || !s.writable) {
      s.destroy();
      return undefined;
    }
    (s as Socket & { [PRECONNECTED]?: boolean })[PRECONNECTED] = true;
    return s;
  }

  private unpark(microvmId: string, entry: Parked): void {
    clearTimeout(entry.timer);
    const list = this.parked.get(microvmId);
    if (!list) return;
    const rest = list.filter((p) => p !== entry);
    if (rest.length) this.parked.set(microvmId, rest);
    else this.parked.delete(microvmId);
  }

  /** Closes a microVM's pooled and pre-connected connections (in-flight requests keep theirs). */
  evict(microvmId: string): void {
    for (const p of this.parked.get(microvmId) ?? []) {
      clearTimeout(p.timer);
      p.socket.destroy();
    }
    this.parked.delete(microvmId);
    const pool = this.pools.get(microvmId);
    if (!pool) return;
    this.pools.delete(microvmId);
    for (const list of Object.values(pool.agent.freeSockets)) for (const s of list ?? []) s.destroy();
  }

  closeAll(): void {
    for (const list of this.parked.values()) for (const p of list) p.socket.destroy();
    this.parked.clear();
    for (const { agent } of this.pools.values()) agent.destroy();
    this.pools.clear();
  }
}
