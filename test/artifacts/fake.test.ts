import { FakeArtifactUsage } from '../support/fakes/fake-artifact-usage.js';
import { runArtifactUsageContract } from './contract.js';

runArtifactUsageContract('fake', async () => {
  const port = new FakeArtifactUsage();
  return {
    port,
    store: async (t, id, n) => port.put(t, id, n),
    storePartial: async (t, id, n) => port.put(t, id, n, true),
    remove: async (t, id) => void port.stored.get(t)?.delete(id),
  };
});
