/**
 * Runs both parts of the network contract against the Linux driver: real namespaces, veths and
 * nft rules, on small pools of their own (the slot files are host-wide, as in production).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LinuxNetwork } from '../../../src/network/linux/index.js';
import { addressPolicy } from '../../../src/util/address-policy.js';
import { TEST_HOST_RANGE, withTestHost, type TestHost } from '../../support/test-host.js';
import { runNetworkIsolationContract, runNetworkSemanticContract } from '../contract.js';
import { footprint, key, probe, startListener } from './helpers/fixtures.js';

const SLOTS = '/run/cubby/net/slots';

/** Owners of every slot held on this host. */
async function owners(): Promise<string[]> {
  const out: string[] = [];
  for (const f of (await readdir(SLOTS).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n))) {
    const text = await readFile(join(SLOTS, f), 'utf8').catch(() => '');
    try {
      out.push((JSON.parse(text) as { owner: string }).owner);
    } catch {
      /* being written or freed */
    }
  }
  return out;
}

runNetworkSemanticContract('linux', async () => {
  // 4 slots (indices 0-3): exhaustion is cheap to reach.
  const opts = { poolCidr: '10.213.244.0/28', addresses: addressPolicy([TEST_HOST_RANGE]) };
  const open = async () => {
    const n = new LinuxNetwork(opts);
    await n.init();
    return n;
  };
  return {
    network: await open(),
    reopen: open,
    poolSize: 4,
    allowedPrivate: TEST_HOST_RANGE,
    owners,
    footprint: (n) => footprint(n),
    close: async () => undefined,
  };
});

runNetworkIsolationContract('linux', async () => {
  const poolCidr = '10.213.244.64/27';
  const network = new LinuxNetwork({ poolCidr, addresses: addressPolicy([TEST_HOST_RANGE]) });
  const strict = new LinuxNetwork({ poolCidr });
  await Promise.all([network.init(), strict.init()]);
  // The test host lives as long as its callback: hold it open until close().
  let done!: () => void;
  const held = new Promise<void>((r) => {
    done = r;
  });
  let ready!: (h: TestHost) => void;
  const hostReady = new Promise<TestHost>((r) => {
    ready = r;
  });
  const finished = withTestHost(async (h) => {
    ready(h);
    await held;
  });
  const outside = await Promise.race([
    hostReady,
    finished.then(() => {
      throw new Error('test host ended early');
    }),
  ]);
  const hostPort = 26_000 + Math.floor(Math.random() * 4000);
  const ports: [number, number] = [hostPort + 1, hostPort + 2];
  // Listeners of the probe's own kind in the test host (its banner tells them from a stray service).
  const outsideListener = await startListener(outside.ns, outside.address, ports);
  const hostListener = await startListener(null, '0.0.0.0', [hostPort]);
  return {
    network,
    strict,
    hostPort,
    outside: { address: outside.address, ports },
    async listenIn(n, port) {
      const l = await startListener(n.netnsName, n.sandboxAddress, [port]);
      return () => l.stop();
    },
    async probe(n, targets) {
      const got = await probe(n ? n.netnsName : null, targets);
      return targets.map((t) => got[key(t)] ?? 'missing');
    },
    async close() {
      await hostListener.stop();
      await outsideListener.stop();
      done();
      await finished;
    },
  };
});
