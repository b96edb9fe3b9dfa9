/**
 * Egress policies, checked with real connections from inside a sandbox's namespace (a process
 * there stands in for the sandbox). Targets are namespaces this file creates: a "public" test
 * host (198.51.100.x), a private host (10.254.x), another sandbox, and the host itself.
 * 198.51.100.0/24 is documentation space, refused like a private range unless the operator
 * allows it: these drivers are set up as an operator who treats it as the internet.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { EgressPolicy, SandboxNetwork } from '../../../src/core/ports/network.js';
import { LinuxNetwork } from '../../../src/network/linux/index.js';
import { isCubbyError } from '../../../src/errors/index.js';
import { addressPolicy } from '../../../src/util/address-policy.js';
import {
  type PeerNetns,
  type Stoppable,
  type Target,
  createPeerNetns,
  key,
  probe,
  probeReport,
  randomPort,
  run,
  startListener,
} from './helpers/fixtures.js';

const OPTS = { timeout: 60_000 };
const PUBLIC_STAND_IN = '198.51.100.0/24';
const driver = new LinuxNetwork({ addresses: addressPolicy([PUBLIC_STAND_IN]) });
/** The same host, as an operator who also allows all of 10.0.0.0/8 (the private test host's range, and the pool's). */
const operatorDriver = new LinuxNetwork({ addresses: addressPolicy([PUBLIC_STAND_IN, '10.0.0.0/8']) });
const cleanups: (() => Promise<void>)[] = [];
let a: SandboxNetwork; // the sandbox under test
let b: SandboxNetwork; // another sandbox, with a listener
let pub: PeerNetns;
let priv: PeerNetns;
const portA = randomPort();
const portB = portA + 1;
const hostPort = portA + 2;

before(async () => {
  const track = <T>(x: T, undo: (x: T) => Promise<void>): T => {
    cleanups.push(() => undo(x));
    return x;
  };
  a = track(await driver.allocate('egress-a', { mode: 'closed' }), (n) => driver.release(n));
  b = track(await driver.allocate('egress-b', { mode: 'internet' }), (n) => driver.release(n));
  pub = track(await createPeerNetns(`198.51.100.${4 * randomInt(0, 64)}`), (p) => p.remove());
  priv = track(await createPeerNetns(`10.254.${randomInt(0, 256)}.${4 * randomInt(0, 64)}`), (p) => p.remove());
  const stop = (l: Stoppable): Promise<void> => l.stop();
  track(await startListener(pub.name, pub.peerAddress, [portA, portB]), stop);
  track(await startListener(priv.name, priv.peerAddress, [portA]), stop);
  track(await startListener(b.netnsName, b.sandboxAddress, [portA]), stop);
  track(await startListener(null, '0.0.0.0', [hostPort]), stop); // every host address
});

after(async () => {
  const errors: unknown[] = [];
  for (const undo of cleanups.reverse()) await undo().catch((e: unknown) => errors.push(e));
  if (errors.length) throw errors[0];
});

const T = {
  pubA: (): Target => ({ host: pub.peerAddress, port: portA }),
  pubB: (): Target => ({ host: pub.peerAddress, port: portB }),
  priv: (): Target => ({ host: priv.peerAddress, port: portA }),
  otherSandbox: (): Target => ({ host: b.sandboxAddress, port: portA }),
  hostViaGateway: (): Target => ({ host: a.hostAddress, port: hostPort }),
  hostViaOtherVeth: (): Target => ({ host: pub.hostAddress, port: hostPort }),
  otherSandboxGateway: (): Target => ({ host: b.hostAddress, port: hostPort }),
};

/** Probes from sandbox `a` and checks each target is open (true) or silently dropped (false). */
async function expectFromA(policy: EgressPolicy, want: [Target, boolean][], via: LinuxNetwork = driver): Promise<void> {
  await via.setPolicy(a, policy);
  const got = await probe(
    a.netnsName,
    want.map(([t]) => t),
  );
  const expected = Object.fromEntries(want.map(([t, open]) => [key(t), open ? 'open' : 'timeout']));
  assert.deepEqual(got, expected, `policy ${JSON.stringify(policy)}`);
}

const hostAndSandboxes = (): [Target, boolean][] => [
  [T.otherSandbox(), false],
  [T.hostViaGateway(), false],
  [T.hostViaOtherVeth(), false],
  [T.otherSandboxGateway(), false],
];

test('controls: every listener answers when not asked from a sandbox', OPTS, async () => {
  const fromHost = await probe(null, [T.pubA(), T.pubB(), T.priv(), T.otherSandbox()]);
  assert.deepEqual(Object.values(fromHost), ['open', 'open', 'open', 'open'], JSON.stringify(fromHost));
  // The host's listener is reachable over a veth, just not from a sandbox's.
  const fromPub = await probe(pub.name, [T.hostViaOtherVeth()]);
  assert.deepEqual(Object.values(fromPub), ['open']);
});

test('closed lets nothing out', OPTS, async () => {
  await expectFromA({ mode: 'closed' }, [[T.pubA(), false], [T.pubB(), false], [T.priv(), false], ...hostAndSandboxes()]);
});

test('allowlist opens exactly the listed destination, protocol and ports', OPTS, async () => {
  await expectFromA(
    { mode: 'allowlist', rules: [{ cidr: `${pub.peerAddress}/32`, protocol: 'tcp', ports: [{ from: portA, to: portA }] }] },
    [
      [T.pubA(), true],
      [T.pubB(), false],
      [T.priv(), false],
    ],
  );
  await expectFromA({ mode: 'allowlist', rules: [{ cidr: `${pub.peerAddress}/32`, protocol: 'udp' }] }, [
    [T.pubA(), false],
    [T.pubB(), false],
  ]);
  await expectFromA({ mode: 'allowlist', rules: [{ cidr: `${pub.peerAddress}/30`, ports: [{ from: portB, to: portB + 10 }] }] }, [
    [T.pubA(), false],
    [T.pubB(), true],
  ]);
});

test('a private range the operator has not allowed cannot be listed: the driver refuses it, the old rules stay', OPTS, async () => {
  await expectFromA({ mode: 'allowlist', rules: [{ cidr: `${pub.peerAddress}/32` }] }, [[T.pubA(), true]]);
  for (const cidr of [`${priv.peerAddress}/32`, '10.0.0.0/8', '0.0.0.0/0', '169.254.169.254/32']) {
    await assert.rejects(
      driver.setPolicy(a, { mode: 'allowlist', rules: [{ cidr }] }),
      (e: unknown) => isCubbyError(e, 'NETWORK_BAD_POLICY'),
      cidr,
    );
  }
  const got = await probe(a.netnsName, [T.pubA(), T.priv()]);
  assert.deepEqual(got, { [key(T.pubA())]: 'open', [key(T.priv())]: 'timeout' });
});

test('an operator-allowed private range may be listed, never the host or other sandboxes with it', OPTS, async () => {
  await expectFromA(
    {
      mode: 'allowlist',
      rules: [
        { cidr: `${priv.peerAddress}/32` },
        { cidr: `${b.sandboxAddress}/32` },
        { cidr: `${a.hostAddress}/32` },
        { cidr: `${b.hostAddress}/32` },
        { cidr: `${pub.hostAddress}/32` },
        { cidr: '10.213.0.0/16' },
      ],
    },
    [[T.priv(), true], [T.pubA(), false], ...hostAndSandboxes()],
    operatorDriver,
  );
});

test('internet reaches public addresses only', OPTS, async () => {
  await expectFromA({ mode: 'internet' }, [[T.pubA(), true], [T.pubB(), true], [T.priv(), false], ...hostAndSandboxes()]);
});

test('internet also reaches the private ranges the operator allowed, still never the host or other sandboxes', OPTS, async () => {
  await expectFromA({ mode: 'internet' }, [[T.pubA(), true], [T.priv(), true], ...hostAndSandboxes()], operatorDriver);
  await expectFromA({ mode: 'internet' }, [
    [T.pubA(), true],
    [T.priv(), false],
  ]);
});

test('a sandbox sends no IPv6: disabled on its links, and dropped by nft should it be turned on', OPTS, async (t) => {
  const v6 = { host: 'fd00:cb:e9::1', sandbox: 'fd00:cb:e9::2' };
  await driver.setPolicy(a, { mode: 'internet' });
  await assert.rejects(
    run('ip', ['-n', a.netnsName, 'addr', 'add', `${v6.sandbox}/64`, 'dev', a.sandboxInterface, 'nodad']),
    /IPv6 is disabled/,
  );
  // Turn it on (as a sandbox escape into the namespace could) to check the nft layer by itself.
  const sysctl = (ns: string | null, iface: string, v: 0 | 1) =>
    run(
      ...((ns === null
        ? ['sysctl', ['-q', '-w', `net.ipv6.conf.${iface}.disable_ipv6=${v}`]]
        : ['ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv6.conf.${iface}.disable_ipv6=${v}`]]) as [string, string[]]),
    );
  t.after(async () => {
    await sysctl(null, a.hostInterface, 1).catch(() => {});
    await sysctl(a.netnsName, a.sandboxInterface, 1).catch(() => {});
  });
  await sysctl(null, a.hostInterface, 0);
  await sysctl(a.netnsName, a.sandboxInterface, 0);
  await run('ip', ['addr', 'add', `${v6.host}/64`, 'dev', a.hostInterface, 'nodad']);
  await run('ip', ['-n', a.netnsName, 'addr', 'add', `${v6.sandbox}/64`, 'dev', a.sandboxInterface, 'nodad']);
  const listener = await startListener(null, '::', [hostPort + 3]);
  t.after(() => listener.stop());
  const target = { host: v6.host, port: hostPort + 3 };
  assert.deepEqual(await probe(null, [target]), { [key(target)]: 'open' }, 'control: the listener answers on that address');
  assert.deepEqual(await probe(a.netnsName, [target]), { [key(target)]: 'timeout' }, 'from the sandbox, IPv6 is dropped');
});

test("egress leaving the host is masqueraded to the host's address on that link", OPTS, async () => {
  await driver.setPolicy(a, { mode: 'internet' });
  const report = await probeReport(a.netnsName, [T.pubA()]);
  assert.deepEqual(report.results, { [key(T.pubA())]: 'open' });
  // The sandbox's own address (10.213.x) would show without the NAT.
  assert.equal(report.seenAs[key(T.pubA())], pub.hostAddress);
});

test('setPolicy switches a live network both ways', OPTS, async () => {
  await expectFromA({ mode: 'internet' }, [[T.pubA(), true]]);
  await expectFromA({ mode: 'closed' }, [[T.pubA(), false]]);
  await expectFromA({ mode: 'internet' }, [[T.pubA(), true]]);
  assert.deepEqual(a.policy, { mode: 'internet' });
});

test('a sandbox cannot send from an address that is not its own', OPTS, async (t) => {
  await driver.setPolicy(a, { mode: 'internet' });
  const spoofs = [b.sandboxAddress, '203.0.113.9'];
  for (const s of spoofs) await run('ip', ['-n', a.netnsName, 'addr', 'add', `${s}/32`, 'dev', a.sandboxInterface]);
  t.after(async () => {
    for (const s of spoofs) await run('ip', ['-n', a.netnsName, 'addr', 'del', `${s}/32`, 'dev', a.sandboxInterface]).catch(() => {});
  });
  const targets: Target[] = [
    T.pubA(),
    ...spoofs.map((s) => ({ ...T.pubA(), localAddress: s })),
    ...spoofs.map((s) => ({ ...T.hostViaGateway(), localAddress: s })),
  ];
  const got = await probe(a.netnsName, targets);
  assert.deepEqual(Object.values(got), ['open', 'timeout', 'timeout', 'timeout', 'timeout'], JSON.stringify(got));
});
