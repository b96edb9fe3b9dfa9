/** The connection half of a sandbox's egress audit, read from its audit sets (see chainRules). */
import type { ConnectionAudit, EgressAudit } from '../../core/ports/network.js';
import { CubbyError } from '../../errors/index.js';
import { describeFailure, exec } from './exec.js';
import { auditSets } from './naming.js';
import { FILTER_TABLE } from './nft-scripts.js';

/** The size of each audit set (nft-scripts.ts setLines). */
export const MAX_CONNECTIONS = 512;

/** Elements of one audit set, from `nft -j list set`: address . protocol . port with a counter. */
export function parseAuditSet(text: string): ConnectionAudit[] {
  const out: ConnectionAudit[] = [];
  const doc = JSON.parse(text) as { nftables?: Array<{ set?: { elem?: unknown[] } }> };
  for (const item of doc.nftables ?? []) {
    for (const e of item.set?.elem ?? []) {
      const elem = (e as { elem?: { val?: { concat?: unknown[] }; counter?: { packets?: unknown } } }).elem;
      const [address, protocol, port] = elem?.val?.concat ?? [];
      if (typeof address !== 'string' || (protocol !== 'tcp' && protocol !== 'udp') || typeof port !== 'number') continue;
      const count = typeof elem?.counter?.packets === 'number' ? elem.counter.packets : 0;
      out.push({ address, protocol, port, count });
    }
  }
  return out.sort((a, b) => b.count - a.count || a.address.localeCompare(b.address) || a.port - b.port);
}

async function listSet(name: string): Promise<ConnectionAudit[]> {
  const args = ['-j', 'list', 'set', ...FILTER_TABLE.split(' '), name];
  const res = await exec('nft', args);
  if (res.code !== 0) throw new CubbyError('NETWORK_SETUP_FAILED', `reading the egress audit: ${describeFailure('nft', args, res)}`);
  return parseAuditSet(res.stdout);
}

export async function readConnections(index: number): Promise<EgressAudit['connections']> {
  const { allowed, denied } = auditSets(index);
  const [a, d] = await Promise.all([listSet(allowed), listSet(denied)]);
  return { allowed: a, denied: d };
}
