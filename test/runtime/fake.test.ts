/** The fake runtime (test/support/fakes) must honour the runtime contract's semantic part, as gVisor does. */
import { runRuntimeSemanticContract } from './contract.js';
import { FakeHost, FakeRuntime } from '../support/fakes/fake-runtime.js';

runRuntimeSemanticContract('fake', async () => {
  const host = new FakeHost();
  host.fs.mkdirp('/rootfs/test');
  const runtime = new FakeRuntime(host);
  return {
    runtime,
    rootfs: '/rootfs/test',
    scratch: '/scratch',
    reopen: async () => new FakeRuntime(host),
    async corruptCheckpoint(dir) {
      runtime.corruptCheckpoint(dir);
    },
    async close() {
      await runtime.close();
    },
  };
});
