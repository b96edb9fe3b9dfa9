/**
 * The network port: one private network per sandbox. A driver gives each sandbox its own
 * network namespace (or tap device, for a microVM driver) with a private /30, loopback up,
 * and egress closed unless the policy opens it.
 */

/** A port or an inclusive range of ports. */
export interface PortRange {
  from: number;
  to: number;
}

export interface EgressRule {
  /** IPv4 CIDR, e.g. "198.51.100.0/24" or "198.51.100.7/32". */
  cidr: string;
  /** Allowed destination ports; empty or absent means every port. */
  ports?: PortRange[];
  /** Absent means both tcp and udp. */
  protocol?: 'tcp' | 'udp';
}

/**
 * A domain the sandbox may reach: only the addresses Cubby's resolver answered for a matching
 * name, for the answer's TTL. `*.example.com` matches every name below example.com (not
 * example.com itself); anything else matches exactly that name.
 */
export interface DomainRule {
  domain: string;
  /** Allowed destination ports (tcp and udp); empty or absent means every port. */
  ports?: PortRange[];
}

/**
 * Egress policy. `closed` (the default) lets nothing out: not the host, not other sandboxes,
 * not the internet. `internet` lets the sandbox reach public addresses (never private ranges,
 * the host, or other sandboxes). `allowlist` lets it reach exactly the listed CIDRs/ports
 * (private ranges included, other sandboxes and the host never) and the names of `domains`.
 * Names resolve only through Cubby's resolver: `closed` resolves nothing, `internet` and a
 * CIDR-only allowlist every name, an allowlist with domains only the names its domains match.
 */
export type EgressPolicy = { mode: 'closed' } | { mode: 'internet' } | { mode: 'allowlist'; rules: EgressRule[]; domains?: DomainRule[] };

/** One DNS question a sandbox asked, as the resolver answered it (counted per name and type). */
export interface DnsQuestionAudit {
  name: string;
  /** Record type, e.g. A, AAAA, TXT, or TYPE<n>. */
  type: string;
  /** allowed: forwarded; refused: the policy does not allow the name (NXDOMAIN); failed: no upstream answer; limited: over the rate. */
  verdict: 'allowed' | 'refused' | 'failed' | 'limited';
  count: number;
  lastAt: string;
  /** IPv4 addresses of the last answer that egress now reaches (domain rules only). */
  opened?: string[];
  /** IPv4 addresses of the last answer the operator's address policy keeps closed. */
  blocked?: string[];
}

/** New connections (first packets) to one destination, counted by the host's rules. */
export interface ConnectionAudit {
  address: string;
  protocol: 'tcp' | 'udp';
  port: number;
  count: number;
}

/**
 * What a sandbox did with its network since its network was set up, kept bounded: at most
 * `limits.questions` questions (least recently asked dropped first) and `limits.connections`
 * destinations per verdict (entries idle for an hour dropped); the totals count everything.
 */
export interface EgressAudit {
  dns: {
    totals: { queries: number; allowed: number; refused: number; failed: number; limited: number };
    questions: DnsQuestionAudit[];
  };
  connections: { allowed: ConnectionAudit[]; denied: ConnectionAudit[] };
  limits: { questions: number; connections: number };
}

export interface SandboxNetwork {
  /** Pool slot, unique on this host while allocated. */
  index: number;
  /** Name usable with `ip netns exec`. */
  netnsName: string;
  /** Path of the namespace file, for an OCI spec's network namespace. */
  netnsPath: string;
  hostInterface: string;
  sandboxInterface: string;
  /** Host side address of the /30 (the sandbox's default gateway). */
  hostAddress: string;
  /** The sandbox's address: the host reaches the sandbox's ports here. */
  sandboxAddress: string;
  prefixLength: number;
  policy: EgressPolicy;
  /**
   * Who allocated it (allocate's `owner`). release() leaves the slot alone when it now belongs
   * to another owner, so a late second release cannot tear down a reused slot.
   */
  owner?: string;
}

export interface NetworkSweepReport {
  removed: string[];
}

export interface NetworkPort {
  /** Allocates a slot and builds the namespace, veth pair, addresses, routes and rules. */
  allocate(owner: string, policy: EgressPolicy): Promise<SandboxNetwork>;
  /**
   * Hands a live network to a new owner (a pre-allocated network taken by a sandbox): the
   * sweep then judges it by that owner. Throws NETWORK_SETUP_FAILED if it is not held as given.
   */
  adopt(net: SandboxNetwork, owner: string): Promise<SandboxNetwork>;
  /** Replaces the egress rules of a live network. */
  setPolicy(net: SandboxNetwork, policy: EgressPolicy): Promise<void>;
  /** Removes everything allocate made. Idempotent: releasing twice is fine. */
  release(net: SandboxNetwork): Promise<void>;
  /**
   * Releases networks this host allocated whose owner is not live, when the process that
   * allocated them is gone or is this one (another running process's networks are its own), and
   * removes leftover namespaces, veths and rules that no slot holds. Returns the names removed.
   */
  sweep(isLive: (owner: string) => boolean): Promise<NetworkSweepReport>;
  /**
   * The egress audit of the live network whose sandbox address is `sandboxAddress`, or
   * undefined when this process holds no such network. Optional: drivers without a resolver.
   */
  egressAudit?(sandboxAddress: string): Promise<EgressAudit | undefined>;
  /**
   * A host file a sandbox should see, read-only, as /etc/resolv.conf (it names the driver's
   * resolver); absent when the driver runs none. Stays in place while the host runs.
   */
  readonly resolvConf?: string;
}
