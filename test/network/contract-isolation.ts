/**
 * The network contract, isolation part (real drivers only): the policy is what packets see.
 * Real connections from inside a sandbox's network to an "outside" host (the fixture's test
 * host, in a range only an operator allowance opens), to the host itself and to another sandbox.
 * Nothing here leaves the machine.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { EgressPolicy, NetworkPort, SandboxNetwork } from '../../src/core/ports/network.js';
import { isCubbyError } from '../../src/errors/index.js';

export interface ProbeTarget {
  host: string;
  port: number;
}

export interface NetworkIsolationFixture {
  /** A network whose operator allows the outside host's range. */
  network: NetworkPort;
  /** The same host as an operator who allows no private or reserved range. */
  strict: NetworkPort;
  /** A host standing in for the internet: an address in a reserved range, two listening TCP ports. */
  outside: { address: string; ports: [number, number] };
  /** A TCP port listening on every address of the host itself. */
  hostPort: number;
  /** Starts a TCP listener inside a sandbox's network (on its sandbox address); returns its stop. */
  listenIn(net: SandboxNetwork, port: number): Promise<() => Promise<void>>;
  /** Per target, "open" or why not ("timeout" when dropped), connecting from inside `net` (null: the host). */
  probe(net: SandboxNetwork | null, targets: ProbeTarget[]): Promise<string[]>;
  close(): Promise<void>;
}

export function runNetworkIsolationContract(name: string, make: () => Promise<NetworkIsolationFixture>): void {
  describe(`network contract (isolation): ${name}`, { timeout: 180_000 }, () => {
    let fx: NetworkIsolationFixture;
    let a: SandboxNetwork;
    let b: SandboxNetwork;
    const stops: Array<() => Promise<void>> = [];
    const tag = `ni-${randomBytes(4).toString('hex')}`;
    const port = 21_000 + Math.floor(Math.random() * 5000);
    const T = {
      out0: (): ProbeTarget => ({ host: fx.outside.address, port: fx.outside.ports[0] }),
      out1: (): ProbeTarget => ({ host: fx.outside.address, port: fx.outside.ports[1] }),
      otherSandbox: (): ProbeTarget => ({ host: b.sandboxAddress, port }),
      hostViaGateway: (): ProbeTarget => ({ host: a.hostAddress, port: fx.hostPort }),
      hostViaOtherGateway: (): ProbeTarget => ({ host: b.hostAddress, port: fx.hostPort }),
    };
    const inside = (): ProbeTarget[] => [T.otherSandbox(), T.hostViaGateway(), T.hostViaOtherGateway()];

    before(async () => {
      fx = await make();
      a = await fx.network.allocate(`${tag}:a`, { mode: 'closed' });
      b = await fx.network.allocate(`${tag}:b`, { mode: 'internet' });
      stops.push(await fx.listenIn(b, port));
    });
    after(async () => {
      for (const s of stops) await s().catch(() => undefined);
      for (const n of [a, b]) if (n) await fx.network.release(n).catch(() => undefined);
      await fx.close();
    });

    /** Sets `policy` on `a` and checks each target is reached (true) or not (false) from it. */
    async function expectFromA(policy: EgressPolicy, want: Array<[ProbeTarget, boolean]>, via: NetworkPort = fx.network): Promise<void> {
      await via.setPolicy(a, policy);
      const got = await fx.probe(
        a,
        want.map(([t]) => t),
      );
      const expected = want.map(([, open]) => (open ? 'open' : 'timeout'));
      assert.deepEqual(got, expected, `policy ${JSON.stringify(policy)} to ${JSON.stringify(want.map(([t]) => `${t.host}:${t.port}`))}`);
    }

    test('controls: every listener answers when asked from the host', async () => {
      assert.deepEqual(await fx.probe(null, [T.out0(), T.out1(), T.otherSandbox()]), ['open', 'open', 'open']);
    });

    test('closed lets nothing out: not the outside, not the host, not another sandbox', async () => {
      await expectFromA({ mode: 'closed' }, [
        [T.out0(), false],
        [T.out1(), false],
        ...inside().map((t): [ProbeTarget, boolean] => [t, false]),
      ]);
    });

    test('an allowlist opens exactly the listed address, protocol and port', async () => {
      await expectFromA(
        {
          mode: 'allowlist',
          rules: [{ cidr: `${fx.outside.address}/32`, protocol: 'tcp', ports: [{ from: fx.outside.ports[0], to: fx.outside.ports[0] }] }],
        },
        [[T.out0(), true], [T.out1(), false], ...inside().map((t): [ProbeTarget, boolean] => [t, false])],
      );
      await expectFromA({ mode: 'allowlist', rules: [{ cidr: `${fx.outside.address}/32`, protocol: 'udp' }] }, [
        [T.out0(), false],
        [T.out1(), false],
      ]);
    });

    test('internet reaches the outside (an allowed range), never the host or another sandbox', async () => {
      await expectFromA({ mode: 'internet' }, [
        [T.out0(), true],
        [T.out1(), true],
        ...inside().map((t): [ProbeTarget, boolean] => [t, false]),
      ]);
    });

    test('setPolicy switches a live network both ways', async () => {
      await expectFromA({ mode: 'internet' }, [[T.out0(), true]]);
      await expectFromA({ mode: 'closed' }, [[T.out0(), false]]);
      await expectFromA({ mode: 'internet' }, [[T.out0(), true]]);
    });

    test("without the operator's allowance the outside's range is refused in rules and unreachable by internet", async () => {
      const s = await fx.strict.allocate(`${tag}:strict`, { mode: 'closed' });
      try {
        await assert.rejects(fx.strict.setPolicy(s, { mode: 'allowlist', rules: [{ cidr: `${fx.outside.address}/32` }] }), (e: unknown) =>
          isCubbyError(e, 'NETWORK_BAD_POLICY'),
        );
        await fx.strict.setPolicy(s, { mode: 'internet' });
        assert.deepEqual(await fx.probe(s, [T.out0(), T.out1()]), ['timeout', 'timeout']);
      } finally {
        await fx.strict.release(s);
      }
    });
  });
}
