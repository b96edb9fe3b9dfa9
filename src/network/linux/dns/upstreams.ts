/** The resolvers Cubby's resolver forwards to: the operator's list, else the host's /etc/resolv.conf. */
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';

export interface Upstream {
  host: string;
  port: number;
}

/** "a.b.c.d[:port]"; throws an Error naming the bad entry. */
export function parseUpstream(text: string): Upstream {
  const m = /^([\d.]+)(?::(\d{1,5}))?$/.exec(text.trim());
  const port = m?.[2] === undefined ? 53 : Number(m[2]);
  if (!m?.[1] || !isIPv4(m[1]) || port < 1 || port > 65535) throw new Error(`'${text}' is not an IPv4 address with an optional :port`);
  return { host: m[1], port };
}

/** The IPv4 nameservers of a resolv.conf (IPv6 ones are skipped: the forwarder speaks IPv4). */
export function hostUpstreams(file = '/etc/resolv.conf'): Upstream[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: Upstream[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m?.[1] && isIPv4(m[1])) out.push({ host: m[1], port: 53 });
  }
  return out.slice(0, 3);
}
