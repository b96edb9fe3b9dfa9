/**
 * Every host-wide name of a sandbox network comes from its slot index alone, so the index (held
 * by the slot file) is what makes them unique across processes. Interface names stay within
 * Linux's 15 characters for any index below 10^12.
 */

export const NETNS_PREFIX = 'cubby-';
export const HOST_IF_PREFIX = 'cbh';
export const SANDBOX_IF_PREFIX = 'cbs';
export const CHAIN_PREFIX = 'sbx';
export const NETNS_DIR = '/var/run/netns';

export const netnsName = (index: number): string => `${NETNS_PREFIX}${index}`;
export const netnsPath = (index: number): string => `${NETNS_DIR}/${netnsName(index)}`;
export const hostIf = (index: number): string => `${HOST_IF_PREFIX}${index}`;
export const sandboxIf = (index: number): string => `${SANDBOX_IF_PREFIX}${index}`;
export const chainName = (index: number): string => `${CHAIN_PREFIX}${index}`;
/** The sets Cubby's resolver opens a sandbox's domain-rule addresses in: every port, or address . port. */
export const domainSets = (index: number): { any: string; ports: string } => ({ any: `dna${index}`, ports: `dnp${index}` });
/** The audit sets: new flows per destination (address . protocol . port) with counters. */
export const auditSets = (index: number): { allowed: string; denied: string } => ({ allowed: `eok${index}`, denied: `eno${index}` });

/** The index in a name made by one of the functions above, or null for any other name. */
export function indexFromName(prefix: string, name: string): number | null {
  if (!name.startsWith(prefix)) return null;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d{0,11})$/.test(rest) ? Number(rest) : null;
}
