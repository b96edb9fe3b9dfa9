import type { DomainRule, EgressPolicy, EgressRule, PortRange } from '../../core/ports/network.js';
import { CubbyError } from '../../errors/index.js';
import { DEFAULT_ADDRESS_POLICY, type AddressPolicy } from '../../util/address-policy.js';
import { normalizeDomain } from '../../util/domain-name.js';
import { formatCidr, parseCidr } from './ipv4.js';
import { auditSets, domainSets } from './naming.js';

const MAX_RULES = 256;
const MAX_PORT_RANGES = 64;
const MAX_DOMAINS = 64;
/** The ports of one domain rule are set elements per address: at most this many. */
const MAX_DOMAIN_PORTS = 64;

function bad(message: string): CubbyError {
  return new CubbyError('NETWORK_BAD_POLICY', message);
}

function checkPort(n: unknown, where: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) throw bad(`${where}: ports are integers 1-65535`);
  return n;
}

function checkPorts(ports: unknown, where: string): PortRange[] {
  const out: PortRange[] = [];
  if (ports === undefined) return out;
  if (!Array.isArray(ports) || ports.length > MAX_PORT_RANGES) throw bad(`${where}: at most ${MAX_PORT_RANGES} port ranges`);
  for (const r of ports as Partial<PortRange>[]) {
    const from = checkPort(r?.from, where);
    const to = checkPort(r?.to, where);
    if (from > to) throw bad(`${where}: port range ${from}-${to} is reversed`);
    out.push({ from, to });
  }
  return out;
}

function normalizeDomainRule(rule: DomainRule, i: number): DomainRule {
  const where = `domain rule ${i}`;
  if (typeof rule !== 'object' || rule === null) throw bad(`${where} is not an object`);
  const domain = typeof rule.domain === 'string' ? normalizeDomain(rule.domain) : null;
  if (domain === null) throw bad(`${where}: "${String(rule.domain)}" is not a host name or *.<domain> wildcard`);
  const ports = checkPorts(rule.ports, where);
  if (ports.reduce((n, p) => n + p.to - p.from + 1, 0) > MAX_DOMAIN_PORTS)
    throw bad(`${where}: a domain rule opens at most ${MAX_DOMAIN_PORTS} ports`);
  return { domain, ...(ports.length ? { ports } : {}) };
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
  const ports = checkPorts(rule.ports, where);
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
      const rules = policy.rules.map((r, i) => normalizeRule(r, i, addresses));
      if (policy.domains === undefined) return { mode: 'allowlist', rules };
      if (!Array.isArray(policy.domains) || policy.domains.length > MAX_DOMAINS)
        throw bad(`allowlist needs at most ${MAX_DOMAINS} domains`);
      const domains = policy.domains.map((d, i) => normalizeDomainRule(d, i));
      return { mode: 'allowlist', rules, ...(domains.length ? { domains } : {}) };
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

/**
 * A sandbox's whole egress chain: policyRules, plus
 * - DNS (tcp/udp port 53) to any address dropped, right after other sandboxes: names resolve
 *   only through Cubby's resolver, which the sandbox reaches on the host (the input chain);
 * - for domain rules, the addresses the resolver opened (its sets, with timeouts);
 * - the audit: before each verdict the first packet of a tcp/udp flow is counted per
 *   destination in the allowed or denied set. The counting rule and the verdict are separate
 *   rules: a full set stops the counting rule, never the verdict.
 */
export function chainRules(
  index: number,
  policy: EgressPolicy,
  poolCidr: string,
  addresses: AddressPolicy = DEFAULT_ADDRESS_POLICY,
): string[] {
  const verdicts = policyRules(policy, poolCidr, addresses);
  const { any, ports } = domainSets(index);
  if (policy.mode === 'allowlist' && policy.domains?.length) {
    const last = verdicts.pop() as string;
    if (policy.domains.some((d) => !d.ports?.length)) verdicts.push(`ip daddr @${any} meta l4proto { tcp, udp } accept`);
    if (policy.domains.some((d) => d.ports?.length)) verdicts.push(`meta l4proto { tcp, udp } ip daddr . th dport @${ports} accept`);
    verdicts.push(last);
  }
  verdicts.splice(1, 0, 'meta l4proto { tcp, udp } th dport 53 drop');
  const { allowed, denied } = auditSets(index);
  const key = 'ip daddr . meta l4proto . th dport';
  return verdicts.flatMap((r) => {
    const verdict = r.endsWith('accept') ? 'accept' : 'drop';
    const match = r.slice(0, r.length - verdict.length).trim();
    const set = verdict === 'accept' ? allowed : denied;
    return [`${match ? `${match} ` : ''}meta l4proto { tcp, udp } update @${set} { ${key} counter }`, r];
  });
}
