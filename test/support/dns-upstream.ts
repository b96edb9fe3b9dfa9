/**
 * A test DNS upstream on 127.0.0.1 (UDP and TCP, one random port): answers the names it was
 * given with their A records, everything else NXDOMAIN, and records every name asked, so a test
 * can tell what Cubby's resolver forwarded. Nothing here talks to any other address.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { RCODE_NXDOMAIN, buildAAnswer, errorAnswer, parseQuery } from '../../src/network/linux/dns/message.js';

export interface DnsUpstream {
  host: string;
  port: number;
  /** "udp:<name>" or "tcp:<name>", in arrival order. */
  asked: string[];
  close(): Promise<void>;
}

export async function startDnsUpstream(names: Record<string, string[]>, ttl = 60): Promise<DnsUpstream> {
  const asked: string[] = [];
  const answer = (msg: Buffer, via: string): Buffer | undefined => {
    const q = parseQuery(msg);
    if (!q) return undefined;
    asked.push(`${via}:${q.name}`);
    const addrs = names[q.name];
    return addrs && q.type === 1 ? buildAAnswer(msg, addrs, ttl) : errorAnswer(msg, q, addrs ? 0 : RCODE_NXDOMAIN);
  };
  const tcp = net.createServer((conn) => {
    let buf = Buffer.alloc(0);
    conn.on('error', () => undefined);
    conn.on('data', (b: Buffer) => {
      buf = Buffer.concat([buf, b]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const out = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)), 'tcp');
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        if (!out) return conn.destroy();
        const head = Buffer.alloc(2);
        head.writeUInt16BE(out.length);
        conn.write(Buffer.concat([head, out]));
      }
    });
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const port = (tcp.address() as net.AddressInfo).port;
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    const out = answer(msg, 'udp');
    if (out) udp.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, '127.0.0.1', () => resolve());
  });
  return {
    host: '127.0.0.1',
    port,
    asked,
    close: async () => {
      udp.close();
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}
