/**
 * Cubby's resolver: one per process, with a UDP socket and a TCP listener on port 53 of each of
 * its sandboxes' host-side veth addresses (a sandbox's queries to DNS_ADDRESS are redirected
 * there by the nat rules). The sandbox is known by the query's source address, which the
 * anti-spoofing rules vouch for. It forwards what the sandbox's policy lets it resolve to the
 * upstream resolvers as it is, answers every other name NXDOMAIN (a definite "no such name",
 * so clients fail at once instead of retrying as they do on REFUSED), and for a name a domain
 * rule matches opens the answer's IPv4 addresses (those the operator's address policy allows)
 * in the sandbox's nft sets for the answer's TTL before the sandbox sees the answer.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { EgressAudit, EgressPolicy, PortRange } from '../../../core/ports/network.js';
import type { AddressPolicy } from '../../../util/address-policy.js';
import { DnsAudit, RateLimit } from './audit.js';
import { namePolicy } from './domains.js';
import { RCODE_NXDOMAIN, RCODE_REFUSED, RCODE_SERVFAIL, errorAnswer, parseAnswer, parseQuery, typeName, type Question } from './message.js';
import type { Upstream } from './upstreams.js';

/** What an answer opens: an address on every port (ports undefined) or on those ports. */
export interface Opening {
  address: string;
  ports?: number[];
  ttlSeconds: number;
}

export interface ResolverOptions {
  upstreams: Upstream[];
  addresses: AddressPolicy;
  /** Adds the openings to slot `index`'s nft sets (refreshing their timeouts); throws on failure. */
  open(index: number, openings: Opening[]): Promise<void>;
  /** Per-upstream timeout of one exchange. Default 2000 ms. */
  timeoutMs?: number;
}

/** A TTL below this still opens the address this long: a client connects after it resolves. */
export const MIN_OPEN_SECONDS = 15;
export const MAX_OPEN_SECONDS = 86_400;
/** Queries per second per sandbox (bursts of twice as many); more are answered REFUSED. */
const RATE = 50;
const MAX_INFLIGHT = 32;
const MAX_TCP_CONNECTIONS = 16;
const MAX_PORTS_OPENED = 64;

interface Slot {
  index: number;
  hostAddress: string;
  sandboxAddress: string;
  policy: EgressPolicy;
  audit: DnsAudit;
  rate: RateLimit;
  inflight: number;
  udp?: dgram.Socket;
  tcp?: net.Server;
  /** Opened set elements and when they expire (ms), so a shorter answer never cuts one short. */
  opened: Map<string, number>;
}

function portList(ranges: PortRange[]): number[] {
  const out = new Set<number>();
  for (const r of ranges) for (let p = r.from; p <= r.to && out.size < MAX_PORTS_OPENED; p++) out.add(p);
  return [...out];
}

/** Which resolver of this process serves a slot: a new one (a daemon restarted in-process) takes it over. */
const serving = new Map<number, DnsResolver>();

export class DnsResolver {
  private readonly slots = new Map<number, Slot>();
  private readonly bySource = new Map<string, Slot>();

  constructor(private readonly opts: ResolverOptions) {}

  /** Starts serving a slot (or updates its policy when it is served already). */
  async attach(index: number, hostAddress: string, sandboxAddress: string, policy: EgressPolicy): Promise<void> {
    const have = this.slots.get(index);
    if (have && have.hostAddress === hostAddress && have.sandboxAddress === sandboxAddress) {
      this.setPolicy(index, policy);
      return;
    }
    if (have) await this.detach(index);
    const other = serving.get(index);
    if (other && other !== this) await other.detach(index);
    serving.set(index, this);
    const slot: Slot = {
      index,
      hostAddress,
      sandboxAddress,
      policy,
      audit: new DnsAudit(),
      rate: new RateLimit(RATE, 2 * RATE),
      inflight: 0,
      opened: new Map(),
    };
    this.slots.set(index, slot);
    this.bySource.set(sandboxAddress, slot);
    try {
      slot.udp = await this.listenUdp(hostAddress);
      slot.tcp = await this.listenTcp(hostAddress);
    } catch (e) {
      await this.detach(index);
      throw e;
    }
  }

  /** A new policy: what earlier answers opened is forgotten (the caller flushed the sets). */
  setPolicy(index: number, policy: EgressPolicy): void {
    const slot = this.slots.get(index);
    if (!slot) return;
    slot.policy = policy;
    slot.opened.clear();
  }

  async detach(index: number): Promise<void> {
    const slot = this.slots.get(index);
    if (!slot) return;
    this.slots.delete(index);
    if (serving.get(index) === this) serving.delete(index);
    if (this.bySource.get(slot.sandboxAddress) === slot) this.bySource.delete(slot.sandboxAddress);
    slot.udp?.close();
    const tcp = slot.tcp;
    if (tcp) await new Promise<void>((r) => tcp.close(() => r()));
  }

  /** Stops serving a slot, whichever resolver of this process serves it (its network is going). */
  static async release(index: number): Promise<void> {
    await serving.get(index)?.detach(index);
  }

  /** Whether any resolver of this process serves the slot. */
  static served(index: number): boolean {
    return serving.has(index);
  }

  has(index: number): boolean {
    return this.slots.has(index);
  }

  indexOf(sandboxAddress: string): number | undefined {
    return this.bySource.get(sandboxAddress)?.index;
  }

  audit(sandboxAddress: string): EgressAudit['dns'] | undefined {
    return this.bySource.get(sandboxAddress)?.audit.snapshot();
  }

  async close(): Promise<void> {
    await Promise.all([...this.slots.keys()].map((i) => this.detach(i)));
  }

  private listenUdp(address: string): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket({ type: 'udp4' });
      sock.once('error', reject);
      sock.on('message', (msg, rinfo) => {
        void this.answer(msg, rinfo.address, 'udp').then((out) => {
          if (out) sock.send(out, rinfo.port, rinfo.address, () => undefined);
        });
      });
      sock.bind({ address, port: 53, exclusive: true }, () => {
        // Sandboxes outlive a daemon that stops: its sockets must not keep the process alive.
        sock.unref();
        sock.off('error', reject);
        sock.on('error', () => undefined);
        resolve(sock);
      });
    });
  }

  private listenTcp(address: string): Promise<net.Server> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((conn) => this.serveTcp(conn));
      server.maxConnections = MAX_TCP_CONNECTIONS;
      server.once('error', reject);
      server.listen({ host: address, port: 53, exclusive: true }, () => {
        server.unref();
        server.off('error', reject);
        server.on('error', () => undefined);
        resolve(server);
      });
    });
  }

  /** Length-prefixed messages (RFC 7766), answered in turn; idle connections closed after 10 s. */
  private serveTcp(conn: net.Socket): void {
    let buf = Buffer.alloc(0);
    let busy = false;
    conn.setTimeout(10_000, () => conn.destroy());
    conn.on('error', () => undefined);
    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        const out = await this.answer(msg, conn.remoteAddress ?? '', 'tcp');
        if (!out) {
          conn.destroy();
          return;
        }
        const head = Buffer.alloc(2);
        head.writeUInt16BE(out.length);
        conn.write(Buffer.concat([head, out]));
      }
      busy = false;
    };
    conn.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > 4 * 65_537) conn.destroy();
      else void pump();
    });
  }

  /** The answer to one message from `source`, or undefined to drop it. */
  private async answer(msg: Buffer, source: string, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    const slot = this.bySource.get(source.replace(/^::ffff:/, ''));
    if (!slot) return undefined;
    const q = parseQuery(msg);
    if (!q) return undefined;
    const type = typeName(q.type);
    if (!slot.rate.take() || slot.inflight >= MAX_INFLIGHT) {
      slot.audit.record(q.name, type, 'limited');
      return errorAnswer(msg, q, RCODE_REFUSED);
    }
    const verdict = namePolicy(slot.policy, q.name);
    if (!verdict.resolve) {
      slot.audit.record(q.name, type, 'refused');
      return errorAnswer(msg, q, RCODE_NXDOMAIN);
    }
    slot.inflight++;
    try {
      const reply = await this.forward(msg, transport);
      if (!reply) {
        slot.audit.record(q.name, type, 'failed');
        return errorAnswer(msg, q, RCODE_SERVFAIL);
      }
      if (!verdict.opens) {
        slot.audit.record(q.name, type, 'allowed');
        return reply;
      }
      return await this.openAnswer(slot, q, msg, reply, verdict.ports);
    } finally {
      slot.inflight--;
    }
  }

  /** Opens the answer's allowed addresses, then hands the answer on (SERVFAIL if they cannot be opened). */
  private async openAnswer(slot: Slot, q: Question, query: Buffer, reply: Buffer, ranges: PortRange[] | undefined): Promise<Buffer> {
    const type = typeName(q.type);
    const records = parseAnswer(reply).records;
    const opened = [...new Set(records.filter((r) => this.opts.addresses.allows(r.address)).map((r) => r.address))];
    const blocked = [...new Set(records.filter((r) => !this.opts.addresses.allows(r.address)).map((r) => r.address))];
    const ports = ranges ? portList(ranges) : undefined;
    const now = Date.now();
    const openings: Opening[] = [];
    for (const address of opened) {
      const ttl = Math.min(...records.filter((r) => r.address === address).map((r) => r.ttl));
      const ttlSeconds = Math.max(MIN_OPEN_SECONDS, Math.min(MAX_OPEN_SECONDS, ttl));
      const until = now + ttlSeconds * 1000;
      const keys = ports ? ports.map((p) => `${address}:${p}`) : [address];
      // Only what is new or would expire sooner is written: most answers repeat an open one.
      const fresh = ports?.filter((p) => (slot.opened.get(`${address}:${p}`) ?? 0) < until - 5_000);
      if (ports ? fresh?.length : (slot.opened.get(address) ?? 0) < until - 5_000) {
        openings.push({ address, ...(fresh ? { ports: fresh } : {}), ttlSeconds });
        for (const k of keys) slot.opened.set(k, Math.max(slot.opened.get(k) ?? 0, until));
      }
    }
    if (slot.opened.size > 8192) for (const [k, t] of slot.opened) if (t < now) slot.opened.delete(k);
    try {
      if (openings.length > 0) await this.opts.open(slot.index, openings);
    } catch {
      for (const o of openings) for (const k of o.ports ? o.ports.map((p) => `${o.address}:${p}`) : [o.address]) slot.opened.delete(k);
      slot.audit.record(q.name, type, 'failed', undefined, blocked);
      return errorAnswer(query, q, RCODE_SERVFAIL);
    }
    slot.audit.record(q.name, type, 'allowed', opened, blocked);
    return reply;
  }

  /** The first upstream answer with the query's id, over the query's own transport. */
  private async forward(query: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    const timeoutMs = this.opts.timeoutMs ?? 2000;
    for (const up of this.opts.upstreams) {
      const reply = await (transport === 'udp' ? udpExchange : tcpExchange)(query, up, timeoutMs).catch(() => undefined);
      if (reply && reply.length >= 12 && reply.readUInt16BE(0) === query.readUInt16BE(0)) return reply;
    }
    return undefined;
  }
}

/** One query over a fresh UDP socket (its own random port, so answers cannot be confused). */
function udpExchange(query: Buffer, up: Upstream, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    let settled = false;
    const done = (e: Error | undefined, out?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.close();
      if (e) reject(e);
      else resolve(out as Buffer);
    };
    const timer = setTimeout(() => done(new Error('timeout')), timeoutMs);
    sock.on('error', (e) => done(e));
    sock.on('message', (msg, rinfo) => {
      if (rinfo.address === up.host && rinfo.port === up.port && msg.length >= 2 && msg.readUInt16BE(0) === query.readUInt16BE(0)) {
        done(undefined, msg);
      }
    });
    sock.send(query, up.port, up.host, (e) => {
      if (e) done(e);
    });
  });
}

function tcpExchange(query: Buffer, up: Upstream, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const conn = net.connect({ host: up.host, port: up.port });
    let buf = Buffer.alloc(0);
    conn.setTimeout(timeoutMs, () => conn.destroy(new Error('timeout')));
    conn.on('error', reject);
    conn.on('close', () => reject(new Error('closed')));
    conn.on('connect', () => {
      const head = Buffer.alloc(2);
      head.writeUInt16BE(query.length);
      conn.write(Buffer.concat([head, query]));
    });
    conn.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        conn.destroy();
      }
    });
  });
}
