/** Which domain rules a queried name matches, and what resolving it may open. */
import type { DomainRule, EgressPolicy, PortRange } from '../../../core/ports/network.js';
import { domainMatches } from '../../../util/domain-name.js';

/**
 * Whether the policy lets `name` be resolved, whether its answers open anything (only under a
 * domain rule: `internet` and a CIDR-only allowlist resolve every name and open nothing), and
 * on which ports (absent: every port).
 */
export function namePolicy(policy: EgressPolicy, name: string): { resolve: boolean; ports?: PortRange[]; opens: boolean } {
  if (policy.mode === 'closed') return { resolve: false, opens: false };
  if (policy.mode === 'internet' || !policy.domains?.length) return { resolve: true, opens: false };
  const hits: DomainRule[] = policy.domains.filter((d) => domainMatches(d.domain, name));
  if (hits.length === 0) return { resolve: false, opens: false };
  if (hits.some((d) => !d.ports?.length)) return { resolve: true, opens: true };
  return { resolve: true, opens: true, ports: hits.flatMap((d) => d.ports ?? []) };
}
