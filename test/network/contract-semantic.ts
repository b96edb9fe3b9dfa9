/**
 * The network contract, semantic part: what the core relies on from any NetworkPort, real or
 * fake: allocate/release (idempotent, owner-guarded), policy validation and normalization
 * (NETWORK_BAD_POLICY, private and reserved ranges refused unless the operator allowed them),
 * setPolicy on a live network, adopt (also by a second instance, as after a daemon restart),
 * sweep by owner, pool exhaustion, and nothing left behind. Every owner carries a random tag, so
 * a real driver on a shared host only ever judges this run's networks.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { EgressPolicy, NetworkPort, SandboxNetwork } from '../../src/core/ports/network.js';
import { isCubbyError } from '../../src/errors/index.js';

export interface NetworkSemanticFixture {
  network: NetworkPort;
  /** A second instance over the same host state, as after a daemon restart. */
  reopen(): Promise<NetworkPort>;
  /** Slots of this network's pool: more networks than this at once cannot be had. */
  poolSize: number;
  /** A private or reserved range the operator allowed this network to reach (e.g. TEST_HOST_RANGE). */
  allowedPrivate: string;
  /** Owners of every network held right now (for a real driver: host-wide). */
  owners(): Promise<string[]>;
  /** What of this network exists (empty once it is released). */
  footprint(net: SandboxNetwork): Promise<string[]>;
  close(): Promise<void>;
}

async function rejectsCode(p: Promise<unknown>, code: string, what = ''): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isCubbyError(e), `${what}: expected a CubbyError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `${what}: ${e.message}`);
    return true;
  });
}

/** A public range, only ever written into rules: the contract sends no packet anywhere. */
const PUBLIC = '93.184.216.0/24';

/** Policies every driver must refuse, with why. */
const BAD_POLICIES: Array<[string, unknown]> = [
  ['malformed CIDR', { mode: 'allowlist', rules: [{ cidr: '300.1.1.1/32' }] }],
  ['not a CIDR at all', { mode: 'allowlist', rules: [{ cidr: 'example.com' }] }],
  ['reversed port range', { mode: 'allowlist', rules: [{ cidr: PUBLIC, ports: [{ from: 90, to: 80 }] }] }],
  ['port 0', { mode: 'allowlist', rules: [{ cidr: PUBLIC, ports: [{ from: 0, to: 80 }] }] }],
  ['port past 65535', { mode: 'allowlist', rules: [{ cidr: PUBLIC, ports: [{ from: 80, to: 70000 }] }] }],
  ['unknown protocol', { mode: 'allowlist', rules: [{ cidr: PUBLIC, protocol: 'icmp' }] }],
  ['rules not a list', { mode: 'allowlist', rules: 'all' }],
  ['too many rules', { mode: 'allowlist', rules: Array.from({ length: 257 }, () => ({ cidr: PUBLIC })) }],
  ['unknown mode', { mode: 'open' }],
  ['no policy', undefined],
  ['a private range', { mode: 'allowlist', rules: [{ cidr: '10.0.0.0/8' }] }],
  ['part of a private range', { mode: 'allowlist', rules: [{ cidr: '192.168.1.7/32' }] }],
  ['the metadata address', { mode: 'allowlist', rules: [{ cidr: '169.254.169.254/32' }] }],
  ['loopback', { mode: 'allowlist', rules: [{ cidr: '127.0.0.1/32' }] }],
  ['everything (reaches the private ranges)', { mode: 'allowlist', rules: [{ cidr: '0.0.0.0/0' }] }],
  ['a public range next to a private one', { mode: 'allowlist', rules: [{ cidr: PUBLIC }, { cidr: '172.16.0.0/12' }] }],
  ['a malformed domain', { mode: 'allowlist', rules: [], domains: [{ domain: 'exa mple.com' }] }],
  ['an address written as a domain', { mode: 'allowlist', rules: [], domains: [{ domain: '10.0.0.1' }] }],
  ['a wildcard over a whole top-level domain', { mode: 'allowlist', rules: [], domains: [{ domain: '*.com' }] }],
  ['a wildcard inside a name', { mode: 'allowlist', rules: [], domains: [{ domain: 'api.*.example.com' }] }],
  [
    'a domain opening more than 64 ports',
    { mode: 'allowlist', rules: [], domains: [{ domain: 'example.com', ports: [{ from: 1000, to: 1064 }] }] },
  ],
  ['domains not a list', { mode: 'allowlist', rules: [], domains: 'example.com' }],
];

export function runNetworkSemanticContract(name: string, make: () => Promise<NetworkSemanticFixture>): void {
  describe(`network contract (semantic): ${name}`, { timeout: 180_000 }, () => {
    let fx: NetworkSemanticFixture;
    let net: NetworkPort;
    const tag = `nc-${randomBytes(4).toString('hex')}`;
    const owner = (what: string) => `${tag}:${what}`;
    /** Everything allocated, to release (by its current holder) whatever a failed test left. */
    const held: SandboxNetwork[] = [];
    const keep = (n: SandboxNetwork): SandboxNetwork => {
      held.push(n);
      return n;
    };
    const mine = async () => (await fx.owners()).filter((o) => o.startsWith(`${tag}:`));

    before(async () => {
      fx = await make();
      net = fx.network;
    });
    after(async () => {
      for (const n of held) await net.release({ ...n, owner: undefined }).catch(() => undefined);
      await fx.close();
    });

    test('allocate gives a well-formed private network; two are apart; release removes it, twice is fine', async () => {
      const a = keep(await net.allocate(owner('a'), { mode: 'closed' }));
      const b = keep(await net.allocate(owner('b'), { mode: 'internet' }));
      for (const n of [a, b]) {
        assert.ok(Number.isInteger(n.index) && n.index >= 0 && n.index < fx.poolSize, `index ${n.index}`);
        for (const k of ['netnsName', 'netnsPath', 'hostInterface', 'sandboxInterface'] as const) assert.ok(n[k].length > 0, k);
        assert.match(n.hostAddress, /^\d+\.\d+\.\d+\.\d+$/);
        assert.match(n.sandboxAddress, /^\d+\.\d+\.\d+\.\d+$/);
        assert.notEqual(n.hostAddress, n.sandboxAddress);
        assert.ok(n.prefixLength >= 24 && n.prefixLength <= 30, `prefix ${n.prefixLength}`);
        assert.ok((await fx.footprint(n)).length > 0, 'an allocated network exists');
      }
      assert.equal(a.owner, owner('a'));
      assert.deepEqual(a.policy, { mode: 'closed' });
      assert.deepEqual(b.policy, { mode: 'internet' });
      assert.notEqual(a.index, b.index);
      assert.notEqual(a.netnsName, b.netnsName);
      assert.notEqual(a.sandboxAddress, b.sandboxAddress);
      assert.deepEqual((await mine()).sort(), [owner('a'), owner('b')]);

      await net.release(a);
      assert.deepEqual(await fx.footprint(a), []);
      assert.ok((await fx.footprint(b)).length > 0, 'releasing one leaves the other');
      await net.release(a);
      await net.release(b);
      await net.release(b);
      assert.deepEqual(await fx.footprint(b), []);
      assert.deepEqual(await mine(), []);
    });

    test('an owner is required', async () => {
      await rejectsCode(net.allocate('', { mode: 'closed' }), 'CUBBY_VALIDATION');
      assert.deepEqual(await mine(), []);
    });

    test('bad policies are refused with NETWORK_BAD_POLICY before anything is taken', async () => {
      for (const [why, p] of BAD_POLICIES) await rejectsCode(net.allocate(owner('bad'), p as EgressPolicy), 'NETWORK_BAD_POLICY', why);
      assert.deepEqual(await mine(), [], 'no slot was taken');
    });

    test('a valid allowlist is normalized: host bits cleared, ports and protocol kept; allowed private ranges pass', async () => {
      const [allowedBase = '', allowedLen = '32'] = fx.allowedPrivate.split('/');
      const policy: EgressPolicy = {
        mode: 'allowlist',
        rules: [
          {
            cidr: '93.184.216.34/24',
            protocol: 'tcp',
            ports: [
              { from: 443, to: 443 },
              { from: 8000, to: 8080 },
            ],
          },
          { cidr: '93.184.217.9' },
          { cidr: `${allowedBase}/${allowedLen}`, protocol: 'udp' },
        ],
      };
      const n = keep(await net.allocate(owner('allow'), policy));
      try {
        assert.deepEqual(n.policy, {
          mode: 'allowlist',
          rules: [
            {
              cidr: PUBLIC,
              protocol: 'tcp',
              ports: [
                { from: 443, to: 443 },
                { from: 8000, to: 8080 },
              ],
            },
            { cidr: '93.184.217.9/32' },
            { cidr: fx.allowedPrivate, protocol: 'udp' },
          ],
        });
      } finally {
        await net.release(n);
      }
    });

    test('domain rules are normalized (lower case, no trailing dot) and kept beside the CIDR rules', async () => {
      const n = keep(
        await net.allocate(owner('domains'), {
          mode: 'allowlist',
          rules: [{ cidr: '93.184.216.7/24' }],
          domains: [{ domain: 'Registry.NPMjs.org.' }, { domain: '*.Example.com', ports: [{ from: 443, to: 443 }] }],
        }),
      );
      try {
        assert.deepEqual(n.policy, {
          mode: 'allowlist',
          rules: [{ cidr: PUBLIC }],
          domains: [{ domain: 'registry.npmjs.org' }, { domain: '*.example.com', ports: [{ from: 443, to: 443 }] }],
        });
      } finally {
        await net.release(n);
      }
    });

    test('setPolicy replaces the rules of a live network; a bad one is refused and the old one stays', async () => {
      const n = keep(await net.allocate(owner('set'), { mode: 'closed' }));
      try {
        await net.setPolicy(n, { mode: 'allowlist', rules: [{ cidr: '93.184.216.7/24' }] });
        assert.deepEqual(n.policy, { mode: 'allowlist', rules: [{ cidr: PUBLIC }] });
        for (const [why, p] of BAD_POLICIES) await rejectsCode(net.setPolicy(n, p as EgressPolicy), 'NETWORK_BAD_POLICY', why);
        assert.deepEqual(n.policy, { mode: 'allowlist', rules: [{ cidr: PUBLIC }] }, 'a refused policy changes nothing');
        await net.setPolicy(n, { mode: 'internet' });
        assert.deepEqual(n.policy, { mode: 'internet' });
        await net.setPolicy(n, { mode: 'closed' });
        assert.deepEqual(n.policy, { mode: 'closed' });
      } finally {
        await net.release(n);
      }
      await rejectsCode(net.setPolicy(n, { mode: 'internet' }), 'NETWORK_SETUP_FAILED', 'setPolicy on a released network');
      assert.deepEqual(await fx.footprint(n), [], 'and leaves nothing behind');
    });

    test("another owner's handle neither releases nor changes a network", async () => {
      const n = keep(await net.allocate(owner('guarded'), { mode: 'closed' }));
      await net.release({ ...n, owner: owner('intruder') });
      assert.ok((await fx.footprint(n)).length > 0, 'still there');
      await rejectsCode(net.setPolicy({ ...n, owner: owner('intruder') }, { mode: 'internet' }), 'NETWORK_SETUP_FAILED');
      await rejectsCode(net.adopt({ ...n, owner: owner('intruder') }, owner('thief')), 'NETWORK_SETUP_FAILED');
      await net.release(n);
      assert.deepEqual(await fx.footprint(n), []);
    });

    test('adopt hands a network to a new owner; the old handle loses it; a second instance (restart) adopts and releases it', async () => {
      const pooled = keep(await net.allocate(owner('pool'), { mode: 'closed' }));
      const adopted = await net.adopt(pooled, owner('sandbox'));
      assert.equal(adopted.owner, owner('sandbox'));
      assert.equal(adopted.index, pooled.index);
      assert.equal(adopted.sandboxAddress, pooled.sandboxAddress);
      assert.deepEqual(await mine(), [owner('sandbox')]);
      await net.release(pooled);
      assert.ok((await fx.footprint(adopted)).length > 0, 'a stale handle cannot release an adopted network');
      await rejectsCode(net.adopt(pooled, owner('thief')), 'NETWORK_SETUP_FAILED');
      await rejectsCode(net.adopt(adopted, ''), 'CUBBY_VALIDATION');

      const restarted = await fx.reopen();
      const again = await restarted.adopt(adopted, owner('after-restart'));
      assert.equal(again.owner, owner('after-restart'));
      assert.deepEqual(await mine(), [owner('after-restart')]);
      await restarted.setPolicy(again, { mode: 'internet' });
      await restarted.release(again);
      assert.deepEqual(await fx.footprint(again), []);
      await rejectsCode(restarted.adopt(again, owner('late')), 'NETWORK_SETUP_FAILED', 'adopting a released network');
      assert.deepEqual(await mine(), []);
    });

    test('sweep releases the networks whose owner is not live, and only those', async () => {
      const gone = keep(await net.allocate(owner('swept'), { mode: 'internet' }));
      const live = keep(await net.allocate(owner('live'), { mode: 'closed' }));
      const report = await net.sweep((o) => o !== owner('swept'));
      assert.ok(report.removed.includes(gone.netnsName), `removed ${JSON.stringify(report.removed)}`);
      assert.ok(!report.removed.includes(live.netnsName));
      assert.deepEqual(await fx.footprint(gone), []);
      assert.ok((await fx.footprint(live)).length > 0);
      await net.release(gone); // already gone: quiet
      await net.release(live);
      assert.deepEqual(await mine(), []);
    });

    test('a full pool says NETWORK_POOL_EXHAUSTED; a released slot can be had again', async () => {
      const got: SandboxNetwork[] = [];
      try {
        let exhausted: unknown;
        for (let i = 0; i <= fx.poolSize && exhausted === undefined; i++) {
          try {
            got.push(keep(await net.allocate(owner(`fill-${i}`), { mode: 'closed' })));
          } catch (e) {
            exhausted = e;
          }
        }
        assert.ok(isCubbyError(exhausted, 'NETWORK_POOL_EXHAUSTED'), `got ${String(exhausted)} after ${got.length}`);
        assert.ok(got.length >= 1 && got.length <= fx.poolSize, `${got.length} of ${fx.poolSize}`);
        assert.equal(new Set(got.map((n) => n.index)).size, got.length);
        const first = got.shift() as SandboxNetwork;
        await net.release(first);
        got.push(keep(await net.allocate(owner('refill'), { mode: 'closed' })));
      } finally {
        for (const n of got) await net.release(n);
      }
      assert.deepEqual(await mine(), []);
    });

    test('nothing of any network this contract allocated is left', async () => {
      assert.ok(held.length > 0);
      assert.deepEqual(await mine(), []);
      for (const n of held) assert.deepEqual(await fx.footprint(n), [], n.netnsName);
    });
  });
}
