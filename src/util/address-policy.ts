/**
 * The operator's one address policy for everything a tenant makes Cubby or a sandbox reach
 * (egress connectors, the nft rules behind them, http(s) code artifact fetches): loopback,
 * private, shared, link-local, documentation, multicast and reserved addresses are refused
 * unless the operator allows a range explicitly (`--egress-allow-private`).
 */
import { BlockList, isIP } from 'node:net';

/** IPv4 ranges a tenant never reaches unless the operator allows them. */
export const REFUSED_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '255.255.255.255/32',
] as const;

/** IPv6 ranges likewise; IPv4-mapped/compatible and 6to4 addresses are judged by their IPv4 part. */
export const REFUSED_V6 = ['::/128', '::1/128', 'fe80::/10', 'fc00::/7', 'ff00::/8', '2001:db8::/32', '64:ff9b::/96'] as const;

export interface Cidr4 {
  base: number;
  prefix: number;
}
/** An inclusive range of IPv4 addresses as unsigned numbers. */
type Interval = [number, number];

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function ipv4Number(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return null;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

function ipv4Text(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** "a.b.c.d[/len]" with host bits cleared; null when malformed. */
export function parseCidr4(text: string): Cidr4 | null {
  const m = /^([\d.]+)(?:\/(\d{1,2}))?$/.exec(text.trim());
  const ip = m?.[1] === undefined ? null : ipv4Number(m[1]);
  const prefix = m?.[2] === undefined ? 32 : Number(m[2]);
  if (ip === null || prefix > 32) return null;
  const size = 2 ** (32 - prefix);
  return { base: ip - (ip % size), prefix };
}

function interval(c: Cidr4): Interval {
  return [c.base, c.base + 2 ** (32 - c.prefix) - 1];
}

function merge(list: Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => a[0] - b[0]);
  const out: Interval[] = [];
  for (const [lo, hi] of sorted) {
    const last = out.at(-1);
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** `from` minus `minus`, both merged. */
function subtract(from: Interval[], minus: Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const [lo0, hi] of from) {
    let lo = lo0;
    for (const [mlo, mhi] of minus) {
      if (mhi < lo || mlo > hi) continue;
      if (mlo > lo) out.push([lo, mlo - 1]);
      lo = Math.max(lo, mhi + 1);
      if (lo > hi) break;
    }
    if (lo <= hi) out.push([lo, hi]);
  }
  return out;
}

/** The fewest CIDRs covering exactly [lo, hi]. */
function toCidrs([lo, hi]: Interval): string[] {
  const out: string[] = [];
  let start = lo;
  while (start <= hi) {
    let size = 1;
    while (start % (size * 2) === 0 && start + size * 2 - 1 <= hi && size < 2 ** 32) size *= 2;
    out.push(`${ipv4Text(start)}/${32 - Math.log2(size)}`);
    start += size;
  }
  return out;
}

/** 16 bytes of an IPv6 literal (a zone suffix is ignored), or null. */
function ipv6Bytes(text: string): number[] | null {
  const addr = text.replace(/%.*$/, '');
  if (isIP(addr) !== 6) return null;
  let head = addr;
  let v4: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  if (dotted?.[1]) {
    const n = ipv4Number(dotted[1]);
    if (n === null) return null;
    v4 = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
    head = addr.slice(0, -dotted[1].length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const [left = '', right] = head.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const l = groups(left);
  const r = right === undefined ? [] : groups(right);
  const fill = 8 - v4.length / 2 - l.length - r.length;
  if (fill < 0 || (right === undefined && fill !== 0)) return null;
  const words = [...l, ...Array<number>(fill).fill(0), ...r];
  return [...words.flatMap((w) => [w >> 8, w & 255]), ...v4];
}

/** The IPv4 address an IPv6 one stands for (mapped ::ffff:0:0/96, compatible ::/96, 6to4 2002::/16). */
function embeddedIpv4(bytes: number[]): string | null {
  const zero = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  const quad = (i: number) => bytes.slice(i, i + 4).join('.');
  if (zero(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return quad(12);
  // ::/128 and ::1 are judged as IPv6 (both refused); other ::a.b.c.d as a.b.c.d.
  if (zero(0, 12) && !zero(12, 15)) return quad(12);
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return quad(2);
  return null;
}

export interface AddressPolicy {
  /** The operator-allowed ranges, normalized ("a.b.c.d/n" or "x::/n"). */
  readonly allowed: readonly string[];
  /** Whether a tenant may reach this IP address (v4 or v6 literal). Anything else: false. */
  allows(address: string): boolean;
  /** The refused IPv4 ranges that a CIDR reaches where the operator allowed nothing; empty when fine. */
  refusedWithin(cidr: Cidr4): string[];
  /** The IPv4 destinations to drop, as disjoint CIDRs: the refused ranges minus the allowed ones. */
  blockedV4(): string[];
}

/** Validates the operator's ranges; throws an Error naming the bad entry. */
export function parseAllowedRanges(list: readonly string[]): string[] {
  return list.map((entry) => {
    const v4 = parseCidr4(entry);
    if (v4) return `${ipv4Text(v4.base)}/${v4.prefix}`;
    const [addr = '', len, extra] = entry.trim().split('/');
    const prefix = len === undefined ? 128 : Number(len);
    if (
      extra === undefined &&
      isIP(addr) === 6 &&
      !addr.includes('%') &&
      Number.isInteger(prefix) &&
      prefix >= 0 &&
      prefix <= 128 &&
      (len === undefined || /^\d{1,3}$/.test(len))
    ) {
      return `${addr.toLowerCase()}/${prefix}`;
    }
    throw new Error(`'${entry}' is not an IPv4 or IPv6 CIDR`);
  });
}

export function addressPolicy(allowPrivate: readonly string[] = []): AddressPolicy {
  const allowed = parseAllowedRanges(allowPrivate);
  const refused = new BlockList();
  for (const c of REFUSED_V4) {
    const [a = '', n] = c.split('/');
    refused.addSubnet(a, Number(n), 'ipv4');
  }
  for (const c of REFUSED_V6) {
    const [a = '', n] = c.split('/');
    refused.addSubnet(a, Number(n), 'ipv6');
  }
  const allow = new BlockList();
  const allowedV4: Interval[] = [];
  for (const c of allowed) {
    const [a = '', n] = c.split('/');
    const v4 = parseCidr4(c);
    if (v4) {
      allow.addSubnet(a, Number(n), 'ipv4');
      allowedV4.push(interval(v4));
    } else allow.addSubnet(a, Number(n), 'ipv6');
  }
  const allowMerged = merge(allowedV4);
  const refusedV4 = REFUSED_V4.map((c) => ({ name: c, range: interval(parseCidr4(c) as Cidr4) }));
  const blocked = subtract(merge(refusedV4.map((r) => r.range)), allowMerged);

  const judge = (address: string, type: 'ipv4' | 'ipv6'): boolean => !refused.check(address, type) || allow.check(address, type);
  return {
    allowed,
    allows(address) {
      const a = address.replace(/^\[|\]$/g, '');
      if (isIP(a) === 4) return judge(a, 'ipv4');
      const bytes = ipv6Bytes(a);
      if (!bytes) return false;
      const v4 = embeddedIpv4(bytes);
      if (v4 !== null && !judge(v4, 'ipv4')) return false;
      const canonical = Array.from({ length: 8 }, (_, i) => (((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0)).toString(16)).join(':');
      return judge(canonical, 'ipv6');
    },
    refusedWithin(cidr) {
      const reach = interval(cidr);
      const open = blocked
        .filter(([lo, hi]) => hi >= reach[0] && lo <= reach[1])
        .map(([lo, hi]): Interval => [Math.max(lo, reach[0]), Math.min(hi, reach[1])]);
      return refusedV4.filter((r) => open.some(([lo, hi]) => hi >= r.range[0] && lo <= r.range[1])).map((r) => r.name);
    },
    blockedV4() {
      return blocked.flatMap(toCidrs);
    },
  };
}

/** The policy with no operator allowances: what a tenant gets by default. */
export const DEFAULT_ADDRESS_POLICY = addressPolicy();
