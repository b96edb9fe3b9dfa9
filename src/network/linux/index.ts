import type { NetworkPort } from '../../core/ports/network.js';
import { LinuxNetwork, type LinuxNetworkOptions } from './driver.js';

export { LinuxNetwork, DEFAULT_STATE_DIR, type LinuxNetworkOptions } from './driver.js';
export { DEFAULT_POOL_CIDR } from './pool.js';
export { exec, describeFailure, toolPath, type ExecResult, type ExecOptions } from './exec.js';
export { parseUpstream, type Upstream } from './dns/upstreams.js';

/** The Linux network driver, with the host prepared (nft tables, ip_forward, slot directory). */
export async function createLinuxNetwork(opts: LinuxNetworkOptions = {}): Promise<NetworkPort & { close(): Promise<void> }> {
  const net = new LinuxNetwork(opts);
  await net.init();
  return net;
}
