import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { CubbyError } from '../../errors/index.js';
import type { ErrorCode } from '../../errors/index.js';
import { describeFailure, exec, toolPath } from './exec.js';
import { hostIf, netnsName, netnsPath, sandboxIf } from './naming.js';
import type { SlotAddresses } from './pool.js';

/**
 * The namespace and veth pair of a slot, driven with `ip -batch -` (one process per namespace
 * instead of one per step: allocate is on the sandbox-launch path).
 */

async function ip(args: string[], script: string, code: ErrorCode, what: string): Promise<void> {
  const res = await exec('ip', args, { input: script });
  if (res.code !== 0) {
    throw new CubbyError(code, `${what}: ${describeFailure('ip', args, res)}`, { details: { stderr: res.stderr } });
  }
}

/** Namespace, veth pair (the sandbox end created inside it), host address, IPv6 off inside. */
export async function createLinks(index: number, a: SlotAddresses): Promise<void> {
  const ns = netnsName(index);
  // IPv6 goes off before the sandbox end exists, so it starts from the namespace's default. -e:
  // a kernel without IPv6 has no such keys, which is just as good.
  await ip(
    ['-batch', '-'],
    [
      `netns add ${ns}`,
      `netns exec ${ns} ${toolPath('sysctl')} -q -e -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1`,
      `link add ${hostIf(index)} type veth peer name ${sandboxIf(index)} netns ${ns}`,
      `addr add ${a.hostAddress}/${a.prefixLength} dev ${hostIf(index)}`,
      `link set ${hostIf(index)} up`,
      '',
    ].join('\n'),
    'NETWORK_SETUP_FAILED',
    `creating ${ns}`,
  );
  // The host end needs no IPv6 either (the nft rules drop it anyway).
  await writeFile(`/proc/sys/net/ipv6/conf/${hostIf(index)}/disable_ipv6`, '1').catch(() => {});
  await primeInside(index, a);
}

/** Loopback up, the sandbox address and the default route via the host end. */
async function primeInside(index: number, a: SlotAddresses): Promise<void> {
  const ns = netnsName(index);
  const dev = sandboxIf(index);
  await ip(
    ['-n', ns, '-batch', '-'],
    [
      'link set lo up',
      `addr replace ${a.sandboxAddress}/${a.prefixLength} dev ${dev}`,
      `link set ${dev} up`,
      `route replace default via ${a.hostAddress} dev ${dev}`,
      '',
    ].join('\n'),
    'NETWORK_SETUP_FAILED',
    `configuring ${ns}`,
  );
}

/**
 * Deletes the veth pair, then the namespace, whichever exist. The veth goes first and
 * explicitly: deleting only the namespace frees the pair asynchronously, tens of ms later, and
 * the slot must not be reusable while `cbh<index>` still exists.
 */
export async function removeLinks(index: number): Promise<void> {
  const lines: string[] = [];
  for (const dev of [hostIf(index), sandboxIf(index)]) {
    if (existsSync(`/sys/class/net/${dev}`)) lines.push(`link del ${dev}`);
  }
  if (existsSync(netnsPath(index))) lines.push(`netns del ${netnsName(index)}`);
  if (lines.length === 0) return;
  const res = await exec('ip', ['-force', '-batch', '-'], { input: `${lines.join('\n')}\n` });
  const left = [hostIf(index), sandboxIf(index)].filter((d) => existsSync(`/sys/class/net/${d}`));
  if (existsSync(netnsPath(index))) left.push(netnsName(index));
  if (left.length > 0) {
    throw new CubbyError('NETWORK_TEARDOWN_FAILED', `could not remove ${left.join(', ')}: ${describeFailure('ip', ['-batch', '-'], res)}`);
  }
}
