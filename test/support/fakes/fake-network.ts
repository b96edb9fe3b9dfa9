/**
 * An in-memory NetworkPort: slots are records in a FakeNetHost (a second FakeNetwork over the same
 * host is "the driver after a daemon restart"), policies are checked by the Linux driver's own
 * validator (same codes, same operator address policy), and nothing is built anywhere. It honours
 * the network contract's semantic part (test/network/contract.ts); packet filtering is for real
 * drivers only. Addresses are loopback (127.88.0.0/16), so nothing could ever route to them.
 * Faults are injectable per method. Test-only.
 */
import type { EgressPolicy, NetworkPort, NetworkSweepReport, SandboxNetwork } from '../../../src/core/ports/network.js';
import { normalizePolicy } from '../../../src/network/linux/egress-policy.js';
import { CubbyError } from '../../../src/errors/index.js';
import { DEFAULT_ADDRESS_POLICY, type AddressPolicy } from '../../../src/util/address-policy.js';
import { Faults } from './faults.js';

/** What outlives a driver instance: the held slots, index -> owner and policy. */
export class FakeNetHost {
  readonly slots = new Map<number, { owner: string; policy: EgressPolicy }>();
}

export interface FakeNetworkOptions {
  /** Number of slots (default 64). */
  poolSize?: number;
  /** The operator's address policy (default: no private range allowed). */
  addresses?: AddressPolicy;
}

function ownerOk(owner: unknown): asserts owner is string {
  if (typeof owner !== 'string' || owner.length === 0) throw new CubbyError('CUBBY_VALIDATION', 'network owner must be a non-empty string');
}

export class FakeNetwork implements NetworkPort {
  readonly faults = new Faults();
  readonly poolSize: number;
  private readonly addresses: AddressPolicy;

  constructor(
    readonly host: FakeNetHost = new FakeNetHost(),
    opts: FakeNetworkOptions = {},
  ) {
    this.poolSize = opts.poolSize ?? 64;
    this.addresses = opts.addresses ?? DEFAULT_ADDRESS_POLICY;
  }

  /** What of a network exists: its slot, while held. */
  footprint(net: Pick<SandboxNetwork, 'index'>): string[] {
    return this.host.slots.has(net.index) ? ['slot'] : [];
  }

  allocate(owner: string, policy: EgressPolicy): Promise<SandboxNetwork> {
    return this.faults.run('allocate', { owner, policy }, () => {
      ownerOk(owner);
      const normalized = normalizePolicy(policy, this.addresses);
      let index = 0;
      while (index < this.poolSize && this.host.slots.has(index)) index++;
      if (index >= this.poolSize) throw new CubbyError('NETWORK_POOL_EXHAUSTED', `all ${this.poolSize} fake network slots are taken`);
      this.host.slots.set(index, { owner, policy: normalized });
      const base = 4 * index;
      const addr = (k: number) => `127.88.${Math.floor((base + k) / 256) % 256}.${(base + k) % 256}`;
      return {
        index,
        netnsName: `fake-${index}`,
        netnsPath: `/var/run/netns/fake-${index}`,
        hostInterface: `fkh${index}`,
        sandboxInterface: `fks${index}`,
        hostAddress: addr(1),
        sandboxAddress: addr(2),
        prefixLength: 30,
        policy: normalized,
        owner,
      };
    });
  }

  adopt(net: SandboxNetwork, owner: string): Promise<SandboxNetwork> {
    return this.faults.run('adopt', { net, owner }, () => {
      ownerOk(owner);
      const slot = this.host.slots.get(net.index);
      if (!slot || (net.owner !== undefined && slot.owner !== net.owner)) {
        throw new CubbyError('NETWORK_SETUP_FAILED', `${net.netnsName} is not held by ${net.owner ?? 'its owner'}`);
      }
      slot.owner = owner;
      return { ...net, owner };
    });
  }

  setPolicy(net: SandboxNetwork, policy: EgressPolicy): Promise<void> {
    return this.faults.run('setPolicy', { net, policy }, () => {
      const normalized = normalizePolicy(policy, this.addresses);
      const slot = this.host.slots.get(net.index);
      if (!slot || (net.owner !== undefined && slot.owner !== net.owner)) {
        throw new CubbyError('NETWORK_SETUP_FAILED', `${net.netnsName} is not allocated to this sandbox`);
      }
      slot.policy = normalized;
      net.policy = normalized;
    });
  }

  release(net: SandboxNetwork): Promise<void> {
    return this.faults.run('release', net, () => {
      const slot = this.host.slots.get(net.index);
      if (!slot || (net.owner !== undefined && slot.owner !== net.owner)) return;
      this.host.slots.delete(net.index);
    });
  }

  sweep(isLive: (owner: string) => boolean): Promise<NetworkSweepReport> {
    return this.faults.run('sweep', undefined, () => {
      const removed: string[] = [];
      for (const [index, slot] of this.host.slots) {
        if (isLive(slot.owner)) continue;
        this.host.slots.delete(index);
        removed.push(`fake-${index}`);
      }
      return { removed };
    });
  }
}
