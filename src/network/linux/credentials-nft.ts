/**
 * The credentials endpoint's address inside every sandbox (169.254.170.2:80, issue 16): a packet a
 * sandbox sends there is redirected, on the host, to the port its daemon's credentials listener
 * took, looked up by the sandbox's host veth (`ports` maps each veth to its owner's port, so
 * several daemons on one host each get their own sandboxes' requests). The redirect makes the
 * destination the veth's host address, and the `inet cubby` input chain accepts exactly these
 * connections (credentialsInputRule) after its anti-spoofing check, so the listener knows the
 * sandbox by its source address. A veth without an element is not redirected: its packets are
 * forwarded and meet the egress rules (which drop link-local addresses), never the host.
 */
import { CREDENTIALS_ADDRESS, CREDENTIALS_PORT } from '../../core/roles/types.js';
import { describeFailure, exec } from './exec.js';
import { HOST_IF_PREFIX, hostIf } from './naming.js';
import { CubbyError } from '../../errors/index.js';

export const CREDENTIALS_TABLE = 'ip cubby_creds';

async function run(script: string): Promise<{ ok: boolean; why: string }> {
  const res = await exec('nft', ['-f', '-'], { input: script });
  return { ok: res.code === 0, why: res.code === 0 ? '' : describeFailure('nft', ['-f', '-'], res) };
}

/** For the `inet cubby` input chain: the redirected connections to the listener. */
export function credentialsInputRule(sandboxes: string): string {
  return `iifname ${sandboxes} ct original ip daddr ${CREDENTIALS_ADDRESS} meta l4proto tcp accept`;
}

/** The shared table: idempotent, its one chain flushed and refilled in the same transaction. */
export function credentialsBaseScript(): string {
  const t = CREDENTIALS_TABLE;
  return [
    `add table ${t}`,
    `add map ${t} ports { type ifname : inet_service; }`,
    `add chain ${t} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    `flush chain ${t} prerouting`,
    `add rule ${t} prerouting iifname "${HOST_IF_PREFIX}*" ip daddr ${CREDENTIALS_ADDRESS} tcp dport ${CREDENTIALS_PORT} redirect to : iifname map @ports`,
    '',
  ].join('\n');
}

export async function initCredentialsTable(): Promise<void> {
  const r = await run(credentialsBaseScript());
  if (!r.ok) throw new CubbyError('NETWORK_SETUP_FAILED', `creating the credentials redirect: ${r.why}`);
}

/** Points slot `index`'s veth at `port`, replacing whatever a previous owner left. */
export async function setCredentialsPort(index: number, port: number): Promise<void> {
  await clearCredentialsPort(index);
  const r = await run(`add element ${CREDENTIALS_TABLE} ports { "${hostIf(index)}" : ${port} }\n`);
  if (!r.ok) throw new CubbyError('NETWORK_SETUP_FAILED', `routing the credentials endpoint of ${hostIf(index)}: ${r.why}`);
}

/** Removes slot `index`'s element; quiet when there is none (nft 1.0.6 has no "destroy"). */
export async function clearCredentialsPort(index: number): Promise<void> {
  await run(`delete element ${CREDENTIALS_TABLE} ports { "${hostIf(index)}" }\n`);
}
