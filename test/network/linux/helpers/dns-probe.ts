/**
 * Run inside a network namespace (`ip netns exec NS node dns-probe.js '<json>'`): sends each
 * query ({server, port?, name, transport?}) at once and prints one result per query: {rcode,
 * addresses} or {error: "timeout" | <code>}.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { buildQuery, parseAnswer } from '../../../../src/network/linux/dns/message.js';

interface Ask {
  server: string;
  port?: number;
  name: string;
  transport?: 'udp' | 'tcp';
}
type Result = { rcode: number; addresses: string[] } | { error: string };

function udp(a: Ask, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('timeout'));
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(query, a.port ?? 53, a.server);
  });
}

function tcp(a: Ask, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: a.server, port: a.port ?? 53 });
    let buf = Buffer.alloc(0);
    c.setTimeout(timeoutMs, () => c.destroy(new Error('timeout')));
    c.on('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code ?? e.message)));
    c.on('connect', () => {
      const head = Buffer.alloc(2);
      head.writeUInt16BE(query.length);
      c.write(Buffer.concat([head, query]));
    });
    c.on('data', (b: Buffer) => {
      buf = Buffer.concat([buf, b]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        c.destroy();
      }
    });
  });
}

const asks = JSON.parse(process.argv[2] ?? '[]') as Ask[];
const timeoutMs = Number(process.argv[3] ?? 1500);
const results = await Promise.all(
  asks.map(async (a, i): Promise<Result> => {
    try {
      const reply = await (a.transport === 'tcp' ? tcp : udp)(a, buildQuery(0x1000 + i, a.name), timeoutMs);
      const { rcode, records } = parseAnswer(reply);
      return { rcode, addresses: records.map((r) => r.address) };
    } catch (e) {
      return { error: (e as Error).message };
    }
  }),
);
process.stdout.write(`${JSON.stringify(results)}\n`);
