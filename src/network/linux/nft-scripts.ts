import { HOST_IF_PREFIX, chainName, hostIf } from './naming.js';

/**
 * nftables scripts, each applied with one `nft -f -` (one atomic transaction). The tables are
 * shared by every Cubby process on the host: scripts only add or replace their own pieces and
 * never flush a table.
 */

export const FILTER_TABLE = 'inet cubby';
export const NAT_TABLE = 'ip cubby_nat';
const SANDBOXES = `"${HOST_IF_PREFIX}*"`;

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
    `flush chain ${NAT_TABLE} postrouting`,
    `add rule ${NAT_TABLE} postrouting ip saddr @pools oifname != ${SANDBOXES} masquerade`,
    `add element ${NAT_TABLE} pools { ${poolCidr} }`,
    '',
  ].join('\n');
}

/** (Re)fills a sandbox's egress chain with `rules` (see policyRules). */
export function chainScript(index: number, rules: readonly string[]): string {
  const c = `${FILTER_TABLE} ${chainName(index)}`;
  return [`add chain ${c}`, `flush chain ${c}`, ...rules.map((r) => `add rule ${c} ${r}`), ''].join('\n');
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
