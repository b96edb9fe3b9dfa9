/** The fake hooks (test/support/fakes) honour the hooks contract with scripted apps. */
import { runHooksContract } from './contract.js';
import { FakeHooks } from '../support/fakes/fake-hooks.js';

runHooksContract('fake', async () => {
  const hooks = new FakeHooks();
  let port = 10_000;
  return {
    hooks,
    async app(statuses) {
      const p = port++;
      const received = hooks.serve('127.0.0.1', p, statuses);
      return { address: '127.0.0.1', port: p, received: () => received.map((c) => ({ hook: c.hook, body: c.body })) };
    },
    nothing: async () => ({ address: '127.0.0.1', port: port++ }),
    close: async () => undefined,
  };
});
