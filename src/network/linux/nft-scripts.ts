import { HOST_IF_PREFIX, auditSets, chainName, domainSets, hostIf } from './naming.js';
import { credentialsInputRule } from './credentials-nft.js';

/**
 * nftables scripts, each applied with one `nft -f -` (one atomic transaction). The tables are
 * shared by every Cubby process on the host: scripts only add or replace their own pieces and
 * never flush a table.
 */

export const FILTER_TABLE = 'inet cubby';
export const NAT_TABLE = 'ip cubby_nat';
const SANDBOXES = `"${HOST_IF_PREFIX}*"`;
/**
 * The resolver address every sandbox's /etc/resolv.conf names (the same in every slot, so a
 * checkpoint restored into another slot keeps resolving). The nat table redirects DNS sent to it
 * to port 53 of the sandbox's own host-side veth address, where Cubby's resolver listens. It is
 * AWS's VPC resolver address (link-local: never routed off the host).
 */
export const DNS_ADDRESS = '169.254.169.253';

/**
 * The shared skeleton. `add` is idempotent; the two base chains hold only static rules, so
 * flushing and refilling them inside the same transaction is safe when processes race.
 *
 * - `sources` (host veth . sandbox address) is the anti-spoofing list: a sandbox sends only
 *   from its own address, and nothing but IPv4.
 * - input: a sandbox never reaches the host (any host address, any port); only replies to
 *   connections the host opened come back.
 * - forward: sandbox to sandbox is dropped, replies pass, then `egress` maps each sandbox's
 *   host veth to its own chain; no element (or a chain that falls through) ends in the drop.
 *   Nothing reaches a sandbox through forwarding except replies.
 * - DNS: a sandbox's queries to DNS_ADDRESS:53 are redirected (prerouting) to its host veth
 *   address, and input lets exactly those in; DNS to anywhere else is dropped in its chain.
 * - postrouting (NAT): sandbox traffic leaving the host is masqueraded. `iifname` is not known
 *   at postrouting, so pools are matched by source address (a set, as several pools may exist).
 */
export function baseScript(poolCidr: string): string {
  const t = FILTER_TABLE;
  return [
    `add table ${t}`,
    `add set ${t} sources { type ifname . ipv4_addr; }`,
    `add map ${t} egress { type ifname : verdict; }`,
    `add chain ${t} input { type filter hook input priority 0; policy accept; }`,
    `add chain ${t} forward { type filter hook forward priority 0; policy accept; }`,
    `flush chain ${t} input`,
    `flush chain ${t} forward`,
    `add rule ${t} input iifname ${SANDBOXES} meta nfproto != ipv4 drop`,
    `add rule ${t} input iifname ${SANDBOXES} iifname . ip saddr != @sources drop`,
    `add rule ${t} input ${credentialsInputRule(SANDBOXES)}`,
    `add rule ${t} input iifname ${SANDBOXES} ct original ip daddr ${DNS_ADDRESS} meta l4proto { tcp, udp } th dport 53 accept`,
    `add rule ${t} input iifname ${SANDBOXES} ct state established,related accept`,
    `add rule ${t} input iifname ${SANDBOXES} drop`,
    `add rule ${t} forward iifname ${SANDBOXES} meta nfproto != ipv4 drop`,
    `add rule ${t} forward iifname ${SANDBOXES} iifname . ip saddr != @sources drop`,
    `add rule ${t} forward iifname ${SANDBOXES} oifname ${SANDBOXES} drop`,
    `add rule ${t} forward iifname ${SANDBOXES} ct state established,related accept`,
    `add rule ${t} forward iifname ${SANDBOXES} iifname vmap @egress`,
    `add rule ${t} forward iifname ${SANDBOXES} drop`,
    `add rule ${t} forward oifname ${SANDBOXES} ct state established,related accept`,
    `add rule ${t} forward oifname ${SANDBOXES} drop`,
    `add table ${NAT_TABLE}`,
    `add set ${NAT_TABLE} pools { type ipv4_addr; flags interval; auto-merge; }`,
    `add chain ${NAT_TABLE} postrouting { type nat hook postrouting priority 100; policy accept; }`,
    `add chain ${NAT_TABLE} prerouting { type nat hook prerouting priority -100; policy accept; }`,
    `flush chain ${NAT_TABLE} postrouting`,
    `flush chain ${NAT_TABLE} prerouting`,
    `add rule ${NAT_TABLE} prerouting iifname ${SANDBOXES} ip daddr ${DNS_ADDRESS} meta l4proto { tcp, udp } th dport 53 redirect to :53`,
    `add rule ${NAT_TABLE} postrouting ip saddr @pools oifname != ${SANDBOXES} masquerade`,
    `add element ${NAT_TABLE} pools { ${poolCidr} }`,
    '',
  ].join('\n');
}

/** A sandbox's sets (see chainRules), as `add set` lines: idempotent, as the definitions never change. */
function setLines(index: number): string[] {
  const t = FILTER_TABLE;
  const { any, ports } = domainSets(index);
  const { allowed, denied } = auditSets(index);
  const audit = 'type ipv4_addr . inet_proto . inet_service; flags dynamic, timeout; timeout 1h; size 512;';
  return [
    `add set ${t} ${any} { type ipv4_addr; flags timeout; size 4096; }`,
    `add set ${t} ${ports} { type ipv4_addr . inet_service; flags timeout; size 8192; }`,
    `add set ${t} ${allowed} { ${audit} }`,
    `add set ${t} ${denied} { ${audit} }`,
  ];
}

/**
 * (Re)fills a sandbox's egress chain with `rules` (see chainRules). What the resolver opened
 * under an earlier policy is dropped with it; the audit sets are kept.
 */
export function chainScript(index: number, rules: readonly string[]): string {
  const c = `${FILTER_TABLE} ${chainName(index)}`;
  const { any, ports } = domainSets(index);
  return [
    ...setLines(index),
    `flush set ${FILTER_TABLE} ${any}`,
    `flush set ${FILTER_TABLE} ${ports}`,
    `add chain ${c}`,
    `flush chain ${c}`,
    ...rules.map((r) => `add rule ${c} ${r}`),
    '',
  ].join('\n');
}

/** What the resolver opened for a sandbox: each element (re)added with its timeout. */
export function openScript(
  index: number,
  openings: ReadonlyArray<{ address: string; ports?: readonly number[]; ttlSeconds: number }>,
): string {
  const t = FILTER_TABLE;
  const { any, ports } = domainSets(index);
  const lines: string[] = [];
  for (const o of openings) {
    const set = o.ports ? ports : any;
    for (const key of o.ports ? o.ports.map((p) => `${o.address} . ${p}`) : [o.address]) {
      // add, delete, add: the element then has the new timeout whether or not it existed.
      lines.push(
        `add element ${t} ${set} { ${key} timeout ${o.ttlSeconds}s }`,
        `delete element ${t} ${set} { ${key} }`,
        `add element ${t} ${set} { ${key} timeout ${o.ttlSeconds}s }`,
      );
    }
  }
  return [...lines, ''].join('\n');
}

/** A sandbox's chain, its anti-spoofing entry and its `egress` map element. */
export function addSandboxScript(index: number, sandboxAddress: string, rules: readonly string[]): string {
  const t = FILTER_TABLE;
  return (
    chainScript(index, rules) +
    [
      `add element ${t} sources { "${hostIf(index)}" . ${sandboxAddress} }`,
      `add element ${t} egress { "${hostIf(index)}" : jump ${chainName(index)} }`,
      '',
    ].join('\n')
  );
}

/**
 * Removes what addSandboxScript made, whether or not it (or part of it) exists: nft has no
 * "delete if present" before 1.0.8, so each piece is first added (a no-op when present) and
 * then deleted, in one transaction.
 */
export function removeSandboxScript(index: number, sandboxAddresses: readonly string[]): string {
  const t = FILTER_TABLE;
  const ifname = `"${hostIf(index)}"`;
  const chain = chainName(index);
  return [
    `add chain ${t} ${chain}`,
    `flush chain ${t} ${chain}`,
    `add element ${t} egress { ${ifname} : jump ${chain} }`,
    ...sandboxAddresses.map((a) => `add element ${t} sources { ${ifname} . ${a} }`),
    `delete element ${t} egress { ${ifname} }`,
    ...sandboxAddresses.map((a) => `delete element ${t} sources { ${ifname} . ${a} }`),
    `delete chain ${t} ${chain}`,
    ...setLines(index),
    ...[...Object.values(domainSets(index)), ...Object.values(auditSets(index))].map((set) => `delete set ${t} ${set}`),
    '',
  ].join('\n');
}

/** What of the filter table belongs to sandboxes, from `nft -j list table inet cubby`. */
export interface SandboxRuleset {
  chains: string[];
  egressKeys: string[];
  sources: { ifname: string; address: string }[];
}

export function parseRulesetJson(text: string): SandboxRuleset {
  const out: SandboxRuleset = { chains: [], egressKeys: [], sources: [] };
  const doc = JSON.parse(text) as { nftables?: Record<string, unknown>[] };
  for (const item of doc.nftables ?? []) {
    const chain = item.chain as { name?: unknown } | undefined;
    if (chain && typeof chain.name === 'string') out.chains.push(chain.name);
    const map = item.map as { name?: unknown; elem?: unknown[] } | undefined;
    if (map?.name === 'egress') {
      for (const e of map.elem ?? []) {
        if (Array.isArray(e) && typeof e[0] === 'string') out.egressKeys.push(e[0]);
      }
    }
    const set = item.set as { name?: unknown; elem?: unknown[] } | undefined;
    if (set?.name === 'sources') {
      for (const e of set.elem ?? []) {
        const parts = (e as { concat?: unknown[] } | null)?.concat;
        if (Array.isArray(parts) && typeof parts[0] === 'string' && typeof parts[1] === 'string') {
          out.sources.push({ ifname: parts[0], address: parts[1] });
        }
      }
    }
  }
  return out;
}
