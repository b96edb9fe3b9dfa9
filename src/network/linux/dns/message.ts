/**
 * The little of the DNS wire format (RFC 1035) the resolver needs: the question of a query, the
 * A records of an answer, and error answers made from a query. The project has no DNS library
 * and the resolver forwards messages as they are, so it reads only these parts and never
 * re-encodes a message it forwards.
 */

export const TYPE_A = 1;
export const TYPE_CNAME = 5;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_REFUSED = 5;

const TYPE_NAMES: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  12: 'PTR',
  15: 'MX',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  64: 'SVCB',
  65: 'HTTPS',
  255: 'ANY',
};

export function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `TYPE${type}`;
}

export interface Question {
  /** Lower case, no trailing dot; "" for the root. */
  name: string;
  type: number;
  /** Offset just past the question (where the answer section starts). */
  end: number;
}

export interface ARecord {
  name: string;
  address: string;
  ttl: number;
}

/** Reads a possibly compressed name at `offset`; returns it and the offset past it, or null. */
function readName(buf: Buffer, offset: number): { name: string; next: number } | null {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  let jumps = 0;
  let length = 0;
  for (;;) {
    if (pos >= buf.length) return null;
    const len = buf[pos] ?? 0;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length || ++jumps > 32) return null;
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | (buf[pos + 1] ?? 0);
      continue;
    }
    if (len & 0xc0) return null;
    if (len === 0) break;
    if (pos + 1 + len > buf.length) return null;
    length += len + 1;
    if (length > 255) return null;
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len).toLowerCase());
    pos += 1 + len;
  }
  return { name: labels.join('.'), next: next < 0 ? pos + 1 : next };
}

/** The single question of a query (QR clear, opcode QUERY, QDCOUNT 1), or null. */
export function parseQuery(buf: Buffer): Question | null {
  if (buf.length < 12) return null;
  const flags = buf.readUInt16BE(2);
  if (flags & 0x8000 || ((flags >> 11) & 0xf) !== 0 || buf.readUInt16BE(4) !== 1) return null;
  const q = readName(buf, 12);
  if (!q || q.next + 4 > buf.length) return null;
  return { name: q.name, type: buf.readUInt16BE(q.next), end: q.next + 4 };
}

/** The response code and the A records of an answer section (empty when unreadable). */
export function parseAnswer(buf: Buffer): { rcode: number; records: ARecord[] } {
  if (buf.length < 12) return { rcode: RCODE_SERVFAIL, records: [] };
  const rcode = buf.readUInt16BE(2) & 0xf;
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  let pos = 12;
  for (let i = 0; i < qd; i++) {
    const q = readName(buf, pos);
    if (!q) return { rcode, records: [] };
    pos = q.next + 4;
  }
  const records: ARecord[] = [];
  for (let i = 0; i < an; i++) {
    const r = readName(buf, pos);
    if (!r || r.next + 10 > buf.length) break;
    const type = buf.readUInt16BE(r.next);
    const cls = buf.readUInt16BE(r.next + 2);
    const ttl = buf.readUInt32BE(r.next + 4);
    const rdlen = buf.readUInt16BE(r.next + 8);
    const data = r.next + 10;
    if (data + rdlen > buf.length) break;
    if (type === TYPE_A && cls === 1 && rdlen === 4) {
      records.push({ name: r.name, address: [...buf.subarray(data, data + 4)].join('.'), ttl });
    }
    pos = data + rdlen;
  }
  return { rcode, records };
}

/** An answer to `query` with no records and `rcode` (the question copied, RD kept, RA set). */
export function errorAnswer(query: Buffer, q: Question, rcode: number): Buffer {
  const out = Buffer.alloc(q.end);
  query.copy(out, 0, 0, q.end);
  const rd = query.readUInt16BE(2) & 0x0100;
  out.writeUInt16BE(0x8000 | rd | 0x0080 | rcode, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(0, 10);
  return out;
}

/** Builds a query (tests and probes): one question, RD set. */
export function buildQuery(id: number, name: string, type = TYPE_A): Buffer {
  const labels = name.split('.').filter(Boolean);
  const parts = labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id & 0xffff, 0);
  head.writeUInt16BE(0x0100, 2);
  head.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(1, 3);
  return Buffer.concat([head, ...parts, tail]);
}

/** Builds an answer to `query` with A records (tests' upstream stub). */
export function buildAAnswer(query: Buffer, addresses: string[], ttl: number): Buffer {
  const q = parseQuery(query);
  if (!q) throw new Error('not a DNS query');
  const head = errorAnswer(query, q, 0);
  head.writeUInt16BE(addresses.length, 6);
  const records = addresses.map((a) => {
    const r = Buffer.alloc(16);
    r.writeUInt16BE(0xc00c, 0);
    r.writeUInt16BE(TYPE_A, 2);
    r.writeUInt16BE(1, 4);
    r.writeUInt32BE(ttl, 6);
    r.writeUInt16BE(4, 10);
    a.split('.').forEach((o, i) => r.writeUInt8(Number(o), 12 + i));
    return r;
  });
  return Buffer.concat([head, ...records]);
}
