import { readdir } from 'node:fs/promises';
import { CubbyError } from '../../errors/index.js';
import { describeFailure, exec } from './exec.js';
import { CHAIN_PREFIX, HOST_IF_PREFIX, NETNS_DIR, NETNS_PREFIX, SANDBOX_IF_PREFIX, indexFromName } from './naming.js';
import { FILTER_TABLE, parseRulesetJson } from './nft-scripts.js';

/** A slot index that has something on this host: a namespace, a veth end, a chain or an element. */
export interface SlotResources {
  index: number;
  /** Anti-spoofing addresses registered for its host veth. */
  sourceAddresses: string[];
}

async function names(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/** Everything on the host that carries a slot's name, whether or not a slot file holds it. */
export async function listSlotResources(): Promise<SlotResources[]> {
  const found = new Map<number, SlotResources>();
  const note = (index: number | null, address?: string): void => {
    if (index === null) return;
    const r = found.get(index) ?? { index, sourceAddresses: [] };
    if (address !== undefined) r.sourceAddresses.push(address);
    found.set(index, r);
  };
  for (const n of await names(NETNS_DIR)) note(indexFromName(NETNS_PREFIX, n));
  for (const n of await names('/sys/class/net')) {
    note(indexFromName(HOST_IF_PREFIX, n));
    note(indexFromName(SANDBOX_IF_PREFIX, n));
  }
  const args = ['-j', 'list', 'table', ...FILTER_TABLE.split(' ')];
  const res = await exec('nft', args);
  if (res.code !== 0) throw new CubbyError('NETWORK_TEARDOWN_FAILED', `listing cubby rules: ${describeFailure('nft', args, res)}`);
  const rules = parseRulesetJson(res.stdout);
  for (const c of rules.chains) note(indexFromName(CHAIN_PREFIX, c));
  for (const k of rules.egressKeys) note(indexFromName(HOST_IF_PREFIX, k));
  for (const s of rules.sources) note(indexFromName(HOST_IF_PREFIX, s.ifname), s.address);
  return [...found.values()];
}
