import type { EgressPolicy, EgressRule, PortRange } from '../../core/ports/network.js';
import { CubbyError } from '../../errors/index.js';
import { DEFAULT_ADDRESS_POLICY, type AddressPolicy } from '../../util/address-policy.js';
import { formatCidr, parseCidr } from './ipv4.js';

const MAX_RULES = 256;
const MAX_PORT_RANGES = 64;

function bad(message: string): CubbyError {
  return new CubbyError('NETWORK_BAD_POLICY', message);
}

function checkPort(n: unknown, where: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) throw bad(`${where}: ports are integers 1-65535`);
  return n;
}

function normalizeRule(rule: EgressRule, i: number, addresses: AddressPolicy): EgressRule {
  const where = `egress rule ${i}`;
  if (typeof rule !== 'object' || rule === null) throw bad(`${where} is not an object`);
  const cidr = typeof rule.cidr === 'string' ? parseCidr(rule.cidr) : null;
  if (cidr === null) throw bad(`${where}: "${String(rule.cidr)}" is not an IPv4 CIDR`);
  // Also checked at the API; here for policies that come from anywhere else (stored, other callers).
  const refused = addresses.refusedWithin(cidr);
  if (refused.length > 0)
    throw bad(`${where}: ${formatCidr(cidr)} reaches private or reserved addresses (${refused.join(', ')}) the operator has not allowed`);
  if (rule.protocol !== undefined && rule.protocol !== 'tcp' && rule.protocol !== 'udp') {
    throw bad(`${where}: protocol must be tcp or udp`);
  }
  const ports: PortRange[] = [];
  if (rule.ports !== undefined) {
    if (!Array.isArray(rule.ports) || rule.ports.length > MAX_PORT_RANGES) throw bad(`${where}: at most ${MAX_PORT_RANGES} port ranges`);
    for (const r of rule.ports) {
      const from = checkPort(r?.from, where);
      const to = checkPort(r?.to, where);
      if (from > to) throw bad(`${where}: port range ${from}-${to} is reversed`);
      ports.push({ from, to });
    }
  }
  return {
    cidr: formatCidr(cidr),
    ...(ports.length ? { ports } : {}),
    ...(rule.protocol ? { protocol: rule.protocol } : {}),
  };
}

/**
 * Checks a policy that may come straight from a request; returns it with CIDRs normalized.
 * `addresses` is the operator's policy: no rule may reach a private range it does not allow.
 */
export function normalizePolicy(policy: EgressPolicy, addresses: AddressPolicy = DEFAULT_ADDRESS_POLICY): EgressPolicy {
  switch (policy?.mode) {
    case 'closed':
      return { mode: 'closed' };
    case 'internet':
      return { mode: 'internet' };
    case 'allowlist': {
      if (!Array.isArray(policy.rules) || policy.rules.length > MAX_RULES) throw bad(`allowlist needs at most ${MAX_RULES} rules`);
      return { mode: 'allowlist', rules: policy.rules.map((r, i) => normalizeRule(r, i, addresses)) };
    }
    default:
      throw bad(`unknown egress mode "${String((policy as { mode?: unknown } | undefined)?.mode)}"`);
  }
}

function allowRule(rule: EgressRule): string {
  const proto = rule.protocol ?? '{ tcp, udp }';
  const ports = (rule.ports ?? []).map((p) => (p.from === p.to ? String(p.from) : `${p.from}-${p.to}`));
  if (ports.length === 0) return `ip daddr ${rule.cidr} meta l4proto ${proto} accept`;
  const dport = ports.length === 1 ? ports[0] : `{ ${ports.join(', ')} }`;
  return rule.protocol
    ? `ip daddr ${rule.cidr} ${rule.protocol} dport ${dport} accept`
    : `ip daddr ${rule.cidr} meta l4proto ${proto} th dport ${dport} accept`;
}

/**
 * The rules of a sandbox's egress chain (nft rule bodies, in order) for a normalized policy.
 * Other sandboxes (`poolCidr`) come first and are dropped whatever the policy says; then the
 * private and reserved ranges the operator has not allowed (so `internet` reaches the allowed
 * ones, and no allowlist rule can open the others). The host is never reached through here
 * (its addresses are local: the input chain drops them). IPv6 never gets this far: the base
 * chains drop every non-IPv4 packet from a sandbox.
 */
export function policyRules(policy: EgressPolicy, poolCidr: string, addresses: AddressPolicy = DEFAULT_ADDRESS_POLICY): string[] {
  const rules = [`ip daddr ${poolCidr} drop`];
  const blocked = addresses.blockedV4();
  if (policy.mode !== 'closed' && blocked.length > 0) rules.push(`ip daddr { ${blocked.join(', ')} } drop`);
  switch (policy.mode) {
    case 'closed':
      break;
    case 'internet':
      rules.push('accept');
      break;
    case 'allowlist':
      rules.push(...policy.rules.map(allowRule));
      break;
  }
  if (policy.mode !== 'internet') rules.push('drop');
  return rules;
}
