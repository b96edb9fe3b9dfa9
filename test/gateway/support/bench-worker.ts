/**
 * Runs the stand-in app or the gateway in a worker thread, so the throughput comparison does
 * not make the load generator, the gateway and the app share one event loop.
 * workerData: { role: 'app' } | { role: 'gateway', appPort }. Posts { port, token? } when up,
 * and shuts down on any message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createGateway } from '../../../src/gateway/gateway.js';
import { KeyRing } from '../../../src/gateway/key-ring.js';
import { MemoryTokenKeyStore } from '../../../src/gateway/token-key-store.js';
import { TokenService } from '../../../src/gateway/tokens.js';
import { FakeTargets } from './fake-targets.js';
import { DOMAIN } from './setup.js';
import { startUpstream } from './upstream.js';

const data = workerData as { role: 'app' } | { role: 'gateway'; appPort: number };
const port = parentPort;
if (!port) throw new Error('bench-worker runs as a worker thread');

if (data.role === 'app') {
  const app = await startUpstream();
  port.postMessage({ port: app.port });
  port.once('message', () => {
    void app.close().then(() => port.close());
  });
} else {
  const tokens = new TokenService(await KeyRing.open({ store: new MemoryTokenKeyStore() }));
  const targets = new FakeTargets();
  targets.add('vm1');
  const gw = createGateway({ targets, tokens, domain: DOMAIN, defaultPort: data.appPort });
  const { port: gwPort } = await gw.listen('127.0.0.1', 0);
  const token = tokens.mint('vm1', 't1', 'all', 5, 'endpoint').token;
  port.postMessage({ port: gwPort, token, host: `vm1.${DOMAIN}` });
  port.once('message', () => {
    void gw.close().then(() => port.close());
  });
}
