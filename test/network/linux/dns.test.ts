/**
 * Cubby's resolver and domain egress on the real driver, from inside a sandbox's namespace (a
 * process there stands in for the sandbox): queries to the resolver address go to the resolver
 * on the host, which forwards allowed names to a test upstream on 127.0.0.1 and opens only their
 * answers; every other name is NXDOMAIN and never forwarded; DNS to any other server is dropped.
 * The "outside" host is a namespace this file creates in 198.51.100.0/24 (documentation space,
 * which this driver's operator allows), so no packet leaves the machine.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { SandboxNetwork } from '../../../src/core/ports/network.js';
import { LinuxNetwork } from '../../../src/network/linux/index.js';
import { DNS_ADDRESS } from '../../../src/network/linux/nft-scripts.js';
import { addressPolicy } from '../../../src/util/address-policy.js';
import { startDnsUpstream, type DnsUpstream } from '../../support/dns-upstream.js';
import { type PeerNetns, type Stoppable, createPeerNetns, probe, randomPort, startListener } from './helpers/fixtures.js';

const OPTS = { timeout: 60_000 };
const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));

type DnsResult = { rcode: number; addresses: string[] } | { error: string };

/** Runs queries from inside `ns` (helpers/dns-probe.ts). */
function ask(ns: string, asks: Array<{ server: string; port?: number; name: string; transport?: 'udp' | 'tcp' }>): Promise<DnsResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, here('./helpers/dns-probe.js'), JSON.stringify(asks), '1500']);
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as DnsResult[]) : reject(new Error(`dns-probe exited ${code}: ${err}`)),
    );
  });
}

const cleanups: (() => Promise<void>)[] = [];
let driver: LinuxNetwork;
let upstream: DnsUpstream;
let pub: PeerNetns;
let a: SandboxNetwork;
const portA = randomPort();
const portB = portA + 1;

before(async () => {
  pub = await createPeerNetns(`198.51.100.${4 * randomInt(0, 64)}`);
  cleanups.push(() => pub.remove());
  const listener: Stoppable = await startListener(pub.name, pub.peerAddress, [portA, portB, 53]);
  cleanups.push(() => listener.stop());
  upstream = await startDnsUpstream({
    'api.allowed.test': [pub.peerAddress],
    'other.test': [pub.peerAddress],
    'inside.test': ['10.254.0.9'],
  });
  cleanups.push(() => upstream.close());
  driver = new LinuxNetwork({
    addresses: addressPolicy(['198.51.100.0/24']),
    dnsUpstreams: [{ host: upstream.host, port: upstream.port }],
  });
  a = await driver.allocate('dns-a', {
    mode: 'allowlist',
    rules: [],
    domains: [{ domain: '*.allowed.test', ports: [{ from: portA, to: portA }] }, { domain: 'inside.test' }],
  });
  cleanups.push(() => driver.release(a));
});

after(async () => {
  for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
  await driver?.close();
});

test('sandboxes are told the one resolver address', OPTS, async () => {
  assert.match(await readFile(driver.resolvConf, 'utf8'), new RegExp(`^nameserver ${DNS_ADDRESS.replaceAll('.', '\\.')}$`, 'm'));
});

test('a domain rule opens only the answered address, only on its port, only after the answer', OPTS, async () => {
  const target = { host: pub.peerAddress, port: portA };
  assert.deepEqual(await probe(a.netnsName, [target]), { [`${pub.peerAddress}:${portA}`]: 'timeout' }, 'closed before resolving');
  const [udp, tcp, other, inside] = await ask(a.netnsName, [
    { server: DNS_ADDRESS, name: 'api.allowed.test' },
    { server: DNS_ADDRESS, name: 'API.Allowed.Test', transport: 'tcp' },
    { server: DNS_ADDRESS, name: 'other.test' },
    { server: DNS_ADDRESS, name: 'inside.test' },
  ]);
  assert.deepEqual(udp, { rcode: 0, addresses: [pub.peerAddress] });
  assert.deepEqual(tcp, { rcode: 0, addresses: [pub.peerAddress] }, 'DNS over TCP too');
  assert.deepEqual(other, { rcode: 3, addresses: [] }, 'a name outside the rules is NXDOMAIN');
  assert.deepEqual(inside, { rcode: 0, addresses: ['10.254.0.9'] }, 'answered, but not opened (below)');
  assert.ok(!upstream.asked.some((q) => q.endsWith(':other.test')), `never forwarded: ${upstream.asked.join(', ')}`);
  assert.ok(upstream.asked.includes('tcp:api.allowed.test'), 'TCP queries go upstream over TCP');
  assert.deepEqual(await probe(a.netnsName, [target, { host: pub.peerAddress, port: portB }]), {
    [`${pub.peerAddress}:${portA}`]: 'open',
    [`${pub.peerAddress}:${portB}`]: 'timeout',
  });

  const audit = await driver.egressAudit(a.sandboxAddress);
  assert.ok(audit);
  const q = (name: string) => audit.dns.questions.find((x) => x.name === name);
  assert.equal(q('api.allowed.test')?.verdict, 'allowed');
  assert.equal(q('api.allowed.test')?.count, 2);
  assert.deepEqual(q('api.allowed.test')?.opened, [pub.peerAddress]);
  assert.equal(q('other.test')?.verdict, 'refused');
  assert.deepEqual(q('inside.test')?.blocked, ['10.254.0.9'], "the operator's address policy still applies");
  assert.equal(audit.dns.totals.refused, 1);
  const conn = (list: typeof audit.connections.allowed, port: number) => list.find((c) => c.address === pub.peerAddress && c.port === port);
  assert.ok((conn(audit.connections.allowed, portA)?.count ?? 0) >= 1, JSON.stringify(audit.connections));
  assert.ok((conn(audit.connections.denied, portB)?.count ?? 0) >= 1, JSON.stringify(audit.connections));
  assert.ok((conn(audit.connections.denied, portA)?.count ?? 0) >= 1, 'the attempt before resolving was denied');
});

test('DNS to any other server is dropped, whatever the policy; internet resolves every name, closed none', OPTS, async () => {
  await driver.setPolicy(a, { mode: 'internet' });
  assert.deepEqual(
    await probe(a.netnsName, [
      { host: pub.peerAddress, port: portB },
      { host: pub.peerAddress, port: 53 },
    ]),
    { [`${pub.peerAddress}:${portB}`]: 'open', [`${pub.peerAddress}:53`]: 'timeout' },
  );
  const [other] = await ask(a.netnsName, [{ server: DNS_ADDRESS, name: 'other.test' }]);
  assert.deepEqual(other, { rcode: 0, addresses: [pub.peerAddress] });
  const denied = (await driver.egressAudit(a.sandboxAddress))?.connections.denied ?? [];
  assert.ok(
    denied.some((c) => c.address === pub.peerAddress && c.port === 53 && c.protocol === 'tcp'),
    JSON.stringify(denied),
  );

  await driver.setPolicy(a, { mode: 'closed' });
  const [closed] = await ask(a.netnsName, [{ server: DNS_ADDRESS, name: 'other.test' }]);
  assert.deepEqual(closed, { rcode: 3, addresses: [] });
});
