/** IPv4 addresses as unsigned 32-bit numbers, and CIDR parsing, for the pool and the policy rules. */

export interface Cidr {
  /** Network address (host bits cleared). */
  base: number;
  prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return null;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Netmask of a prefix length, as an unsigned number (`/0` is 0). */
export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses "a.b.c.d/len" (a bare address is a /32); host bits are cleared. Null when malformed. */
export function parseCidr(text: string): Cidr | null {
  const [addr, len, extra] = text.trim().split('/');
  if (addr === undefined || extra !== undefined) return null;
  const ip = parseIpv4(addr);
  if (ip === null) return null;
  let prefix = 32;
  if (len !== undefined) {
    if (!/^\d{1,2}$/.test(len)) return null;
    prefix = Number(len);
    if (prefix > 32) return null;
  }
  return { base: (ip & maskOf(prefix)) >>> 0, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIpv4(c.base)}/${c.prefix}`;
}
