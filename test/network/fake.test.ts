/** The fake network (test/support/fakes) honours the network contract's semantic part, as the Linux driver does. */
import { runNetworkSemanticContract } from './contract.js';
import { FakeNetHost, FakeNetwork } from '../support/fakes/fake-network.js';
import { addressPolicy } from '../../src/util/address-policy.js';
import { TEST_HOST_RANGE } from '../support/test-host.js';

runNetworkSemanticContract('fake', async () => {
  const host = new FakeNetHost();
  const opts = { poolSize: 8, addresses: addressPolicy([TEST_HOST_RANGE]) };
  const network = new FakeNetwork(host, opts);
  return {
    network,
    poolSize: opts.poolSize,
    allowedPrivate: TEST_HOST_RANGE,
    reopen: async () => new FakeNetwork(host, opts),
    owners: async () => [...host.slots.values()].map((s) => s.owner),
    footprint: async (n) => network.footprint(n),
    close: async () => undefined,
  };
});
