/**
 * egressNetworkConnectors (strings) <-> the core's EgressPolicy. Cubby's connector names:
 *   (none, or an empty list)        egress closed: nothing leaves the microVM
 *   internet                        public internet (also AWS's INTERNET_EGRESS connector,
 *                                   arn:aws:lambda:<region>:aws:network-connector:aws-network-connector:INTERNET_EGRESS)
 *   allow:<cidr>                    the IPv4 CIDR (a bare address means /32), every port
 *   allow:<cidr>:<port>             ... one destination port
 *   allow:<cidr>:<from>-<to>        ... an inclusive port range
 *   allow:domain:<name>[:<ports>]   the addresses Cubby's resolver answers for <name> (exactly
 *                                   that name, or with `*.example.com` every name below
 *                                   example.com), for the answer's TTL; ports as above (at most
 *                                   64). With domain entries the microVM resolves only the names
 *                                   they match (others get NXDOMAIN); without, every name.
 * Each name may also be given as an ARN ending in `:network-connector:<name>` or
 * `:network-connector/<name>`. Several allow entries make one allowlist; `internet` cannot be
 * combined with allow entries (the core has no "internet plus private ranges" policy).
 * An allow entry may not reach private or reserved addresses (see util/address-policy.ts)
 * unless the operator allowed that whole part (`--egress-allow-private`).
 */
import type { DomainRule, EgressPolicy, EgressRule } from '../../../core/ports/network.js';
import { CubbyError } from '../../../errors/index.js';
import { DEFAULT_ADDRESS_POLICY, parseCidr4, type AddressPolicy } from '../../../util/address-policy.js';
import { normalizeDomain } from '../../../util/domain-name.js';

const DOMAIN_PREFIX = 'domain:';
const MAX_DOMAIN_PORTS = 64;

const CONNECTOR_ARN = /^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:(?:\d{12}|aws):network-connector[:/](.+)$/;
const INTERNET_NAMES = new Set(['internet', 'INTERNET_EGRESS', 'aws-network-connector:INTERNET_EGRESS']);

function invalid(connector: string, why: string): CubbyError {
  return new CubbyError('CUBBY_VALIDATION', `egressNetworkConnectors: '${connector}' ${why}`);
}

function connectorName(connector: string): string {
  if (!connector.startsWith('arn:')) return connector;
  const m = CONNECTOR_ARN.exec(connector);
  if (!m?.[1]) throw invalid(connector, 'is not a network connector ARN (...:network-connector:<name>).');
  return m[1];
}

/** Parses an IPv4 CIDR and returns it with the host bits cleared, e.g. "10.1.2.3/8" -> "10.0.0.0/8". */
export function normalizeCidr(text: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = m[5] === undefined ? 32 : Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const addr = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  const net = addr - (addr % size);
  const parts = [24, 16, 8, 0].map((shift) => Math.floor(net / 2 ** shift) % 256);
  return `${parts.join('.')}/${prefix}`;
}

function parsePorts(connector: string, text: string): { from: number; to: number } {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const from = Number(m?.[1]);
  const to = m?.[2] === undefined ? from : Number(m[2]);
  if (!m || from < 1 || to > 65535 || from > to) {
    throw invalid(connector, 'has a bad port: use <port> or <from>-<to> within 1-65535.');
  }
  return { from, to };
}

function parseAllow(connector: string, spec: string, addresses: AddressPolicy): EgressRule {
  // The CIDR has no ':' so the first ':' (if any) starts the ports.
  const colon = spec.indexOf(':');
  const cidrText = colon < 0 ? spec : spec.slice(0, colon);
  const cidr = normalizeCidr(cidrText);
  if (!cidr) throw invalid(connector, `has a bad IPv4 CIDR '${cidrText}'.`);
  const rule: EgressRule = colon < 0 ? { cidr } : { cidr, ports: [parsePorts(connector, spec.slice(colon + 1))] };
  const refused = addresses.refusedWithin(parseCidr4(cidr) ?? { base: 0, prefix: 0 });
  if (refused.length > 0) {
    const shown = refused.length > 6 ? `${refused.slice(0, 6).join(', ')}, and ${refused.length - 6} more` : refused.join(', ');
    throw invalid(
      connector,
      `reaches private or reserved addresses (${shown}); use 'internet' for the public internet, or ask the operator to allow the range.`,
    );
  }
  return rule;
}

function parseDomain(connector: string, spec: string): DomainRule {
  const colon = spec.indexOf(':');
  const nameText = colon < 0 ? spec : spec.slice(0, colon);
  const domain = normalizeDomain(nameText);
  if (!domain) throw invalid(connector, `has a bad domain '${nameText}': use a host name or *.<domain>.`);
  if (colon < 0) return { domain };
  const ports = parsePorts(connector, spec.slice(colon + 1));
  if (ports.to - ports.from + 1 > MAX_DOMAIN_PORTS) throw invalid(connector, `opens more than ${MAX_DOMAIN_PORTS} ports.`);
  return { domain, ports: [ports] };
}

/** `addresses`: the operator's address policy (default: no private range allowed). */
export function connectorsToEgress(connectors: readonly string[], addresses: AddressPolicy = DEFAULT_ADDRESS_POLICY): EgressPolicy {
  let internet = false;
  const rules: EgressRule[] = [];
  const domains: DomainRule[] = [];
  for (const connector of connectors) {
    const name = connectorName(connector);
    if (INTERNET_NAMES.has(name)) internet = true;
    else if (name.startsWith(`allow:${DOMAIN_PREFIX}`)) domains.push(parseDomain(connector, name.slice(`allow:${DOMAIN_PREFIX}`.length)));
    else if (name.startsWith('allow:')) rules.push(parseAllow(connector, name.slice('allow:'.length), addresses));
    else
      throw invalid(
        connector,
        "is not a Cubby egress connector: use 'internet', 'allow:<cidr>[:<port>|:<from>-<to>]' or 'allow:domain:<name>[:<port>|:<from>-<to>]'.",
      );
  }
  if (internet && rules.length + domains.length > 0) {
    throw new CubbyError('CUBBY_VALIDATION', "egressNetworkConnectors: 'internet' cannot be combined with allow: entries.");
  }
  if (internet) return { mode: 'internet' };
  if (rules.length + domains.length === 0) return { mode: 'closed' };
  return domains.length > 0 ? { mode: 'allowlist', rules, domains } : { mode: 'allowlist', rules };
}

/** The canonical connector names of a policy (used when the request's own strings are not at hand). */
export function egressToConnectors(policy: EgressPolicy): string[] {
  if (policy.mode === 'closed') return [];
  if (policy.mode === 'internet') return ['internet'];
  const port = (p: { from: number; to: number }) => (p.from === p.to ? String(p.from) : `${p.from}-${p.to}`);
  return [
    ...policy.rules.flatMap((r) =>
      r.ports && r.ports.length > 0 ? r.ports.map((p) => `allow:${r.cidr}:${port(p)}`) : [`allow:${r.cidr}`],
    ),
    ...(policy.domains ?? []).flatMap((d) =>
      d.ports && d.ports.length > 0 ? d.ports.map((p) => `allow:domain:${d.domain}:${port(p)}`) : [`allow:domain:${d.domain}`],
    ),
  ];
}
