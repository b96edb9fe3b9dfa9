/**
 * The network of a build's RUN steps: the same as a microVM's. A build with network gets one
 * slot of the network driver (its own netns, veth pair, /30 and nft egress chain), allocated
 * under the image's build egress policy and released when the build ends; every RUN step's gVisor
 * sandbox joins that netns with gVisor's own network stack (runsc-wrapper.ts). The driver's rules
 * hold as for microVMs: never the host, other sandboxes, or private ranges the operator has not
 * allowed. A build without network (`none`) allocates nothing: runsc --network=none.
 *
 * runsc moves the veth's address into the sandbox's stack and it is gone once the step's sandbox
 * exits, so the wrapper puts address, link and default route back before each step (primeScript).
 *
 * DNS: the build's /etc/resolv.conf names the resolver the driver gives its sandboxes (see
 * dnsServers).
 */
import { promises as fs } from 'node:fs';
import type { EgressPolicy, NetworkPort, SandboxNetwork } from '../../core/ports/network.js';
import { accessSync, constants } from 'node:fs';

/** Owner names of build networks: `cubby-build:<build id>`. */
export const BUILD_NET_OWNER = 'cubby-build:';

export type BuildNetworkMode = 'none' | 'internet';

export function buildEgress(mode: BuildNetworkMode): EgressPolicy {
  return mode === 'internet' ? { mode: 'internet' } : { mode: 'closed' };
}

/** `ip`, wherever it is (a daemon's PATH often lacks the sbin directories). */
function ipPath(): string {
  for (const p of ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip']) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return 'ip';
}

/** The shell lines that give the netns back its address and route before a RUN step. */
export function primeScript(net: SandboxNetwork): string[] {
  const ip = ipPath();
  const ns = net.netnsName;
  const dev = net.sandboxInterface;
  return [
    `${ip} -n ${ns} link set lo up`,
    `${ip} -n ${ns} addr replace ${net.sandboxAddress}/${net.prefixLength} dev ${dev}`,
    `${ip} -n ${ns} link set ${dev} up`,
    `${ip} -n ${ns} route replace default via ${net.hostAddress} dev ${dev}`,
  ];
}

/**
 * The nameservers a build's RUN steps use: those of the resolv.conf the driver gives its sandboxes
 * (Cubby's resolver on the host side of each network), as for microVMs. A driver without a
 * resolver: the host's own resolvers (loopback ones left out: they mean the host itself), which a
 * RUN step reaches only where the egress policy lets it.
 */
export async function dnsServers(port: Pick<NetworkPort, 'resolvConf'>, hostResolvConf = '/etc/resolv.conf'): Promise<string[]> {
  const read = async (file: string): Promise<string[]> =>
    (await fs.readFile(file, 'utf8').catch(() => ''))
      .split('\n')
      .map((l) => /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(l)?.[1])
      .filter((a): a is string => a !== undefined && !a.startsWith('127.'));
  const cubby = port.resolvConf ? await read(port.resolvConf) : [];
  return cubby.length > 0 ? cubby : read(hostResolvConf);
}

/** Allocates the build's network; the caller releases it (releaseBuildNetwork) in every outcome. */
export async function allocateBuildNetwork(port: NetworkPort, buildId: string, mode: BuildNetworkMode): Promise<SandboxNetwork> {
  return port.allocate(`${BUILD_NET_OWNER}${buildId}`, buildEgress(mode));
}

export async function releaseBuildNetwork(port: NetworkPort, net: SandboxNetwork): Promise<void> {
  await port.release(net);
}

/**
 * Releases build networks nobody builds with any more: those of dead processes (the driver
 * judges the process) and this process's own that are not in `active`. Other owners' networks
 * (microVMs) are left alone.
 */
export async function sweepBuildNetworks(port: NetworkPort, active: ReadonlySet<string>): Promise<string[]> {
  const r = await port.sweep((owner) => !owner.startsWith(BUILD_NET_OWNER) || active.has(owner.slice(BUILD_NET_OWNER.length)));
  return r.removed;
}
