/** One gateway on 127.0.0.1 with an in-memory key ring, a stand-in app and scripted targets. */
import type { TestContext } from 'node:test';
import { createGateway, type Gateway, type GatewayOptions } from '../../../src/gateway/gateway.js';
import { KeyRing } from '../../../src/gateway/key-ring.js';
import { MemoryTokenKeyStore } from '../../../src/gateway/token-key-store.js';
import { TokenService } from '../../../src/gateway/tokens.js';
import { FakeTargets } from './fake-targets.js';
import { startUpstream, type Upstream } from './upstream.js';

export const DOMAIN = 'cubby.test';

export interface Rig {
  gw: Gateway;
  port: number;
  app: Upstream;
  targets: FakeTargets;
  tokens: TokenService;
  /** A token for vm1 on the app's port (or the ports given). */
  token(opts?: { id?: string; ports?: Array<{ from: number; to: number }> | 'all'; kind?: 'endpoint' | 'shell' }): string;
  host(id?: string): string;
}

export async function rig(t: TestContext, extra: Partial<GatewayOptions> = {}): Promise<Rig> {
  const app = await startUpstream();
  t.after(() => app.close());
  const ring = await KeyRing.open({ store: new MemoryTokenKeyStore() });
  const tokens = new TokenService(ring);
  const targets = new FakeTargets();
  targets.add('vm1');
  const gw = createGateway({ targets, tokens, domain: DOMAIN, defaultPort: app.port, ...extra });
  const { port } = await gw.listen('127.0.0.1', 0);
  t.after(() => gw.close());
  return {
    gw,
    port,
    app,
    targets,
    tokens,
    token: (o = {}) => tokens.mint(o.id ?? 'vm1', 't1', o.ports ?? [{ from: app.port, to: app.port }], 5, o.kind ?? 'endpoint').token,
    host: (id = 'vm1') => `${id}.${DOMAIN}`,
  };
}
