import { CubbyError } from '../../errors/index.js';
import { type Cidr, formatCidr, formatIpv4, parseCidr } from './ipv4.js';

/** Where slot `index` sits in the pool: the /30 at base + 4*index, host .1, sandbox .2. */
export interface SlotAddresses {
  hostAddress: string;
  sandboxAddress: string;
  prefixLength: 30;
}

export const DEFAULT_POOL_CIDR = '10.213.0.0/16';

export class AddressPool {
  readonly cidr: Cidr;
  /** Number of /30 slots. */
  readonly size: number;

  constructor(text: string = DEFAULT_POOL_CIDR) {
    const cidr = parseCidr(text);
    if (cidr === null || cidr.prefix > 30 || cidr.prefix < 8) {
      throw new CubbyError('CUBBY_VALIDATION', `network pool must be an IPv4 CIDR between /8 and /30, got "${text}"`);
    }
    this.cidr = cidr;
    this.size = 2 ** (30 - cidr.prefix);
  }

  get text(): string {
    return formatCidr(this.cidr);
  }

  addresses(index: number): SlotAddresses {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new CubbyError('CUBBY_INTERNAL', `slot ${index} is outside pool ${this.text}`);
    }
    const subnet = this.cidr.base + 4 * index;
    return { hostAddress: formatIpv4(subnet + 1), sandboxAddress: formatIpv4(subnet + 2), prefixLength: 30 };
  }
}
