/**
 * A gateway in front of one E2B sandbox played by two real local servers on a loopback address
 * of its own: the "agent" on E2B's port 49983 and an app on a free port. A fresh 127.x.y.z
 * address per rig keeps 49983 free of clashes with other tests.
 */
import type { TestContext } from 'node:test';
import { createGateway, type Gateway, type GatewayOptions } from '../../../src/gateway/gateway.js';
import { ENVD_PORT } from '../../../src/gateway/e2b-access.js';
import { KeyRing } from '../../../src/gateway/key-ring.js';
import { MemoryTokenKeyStore } from '../../../src/gateway/token-key-store.js';
import { TokenService } from '../../../src/gateway/tokens.js';
import type { TargetInfo } from '../../../src/gateway/targets.js';
import { FakeTargets } from './fake-targets.js';
import { DOMAIN } from './setup.js';
import { startUpstream, type Upstream } from './upstream.js';

export const SBX = 'sbx1e2b';
export const ENVD_TOKEN = 'envd-token-0123456789abcdef';
export const TRAFFIC_TOKEN = 'traffic-token-fedcba9876543210';

export interface E2bRig {
  gw: Gateway;
  port: number;
  agent: Upstream;
  app: Upstream;
  targets: FakeTargets;
  tokens: TokenService;
  info: TargetInfo;
  address: string;
}

export async function e2bRig(
  t: TestContext,
  opts: { e2b?: Partial<NonNullable<TargetInfo['e2b']>>; gateway?: Partial<GatewayOptions> } = {},
): Promise<E2bRig> {
  const { address, agent } = await agentOnFreshLoopback();
  t.after(() => agent.close());
  const app = await startUpstream({ host: address });
  t.after(() => app.close());
  const tokens = new TokenService(await KeyRing.open({ store: new MemoryTokenKeyStore() }));
  const targets = new FakeTargets();
  const info = targets.add(SBX, {
    address,
    e2b: { envdAccessToken: ENVD_TOKEN, trafficAccessToken: TRAFFIC_TOKEN, allowPublicTraffic: true, ...opts.e2b },
  });
  const gw = createGateway({ targets, tokens, domain: DOMAIN, ...opts.gateway });
  const { port } = await gw.listen('127.0.0.1', 0);
  t.after(() => gw.close());
  return { gw, port, agent, app, targets, tokens, info, address };
}

async function agentOnFreshLoopback(): Promise<{ address: string; agent: Upstream }> {
  for (let i = 0; ; i++) {
    const b = () => 1 + Math.floor(Math.random() * 250);
    const address = `127.${b()}.${b()}.${b()}`;
    try {
      return { address, agent: await startUpstream({ host: address, port: ENVD_PORT }) };
    } catch (e) {
      if (i >= 5) throw e;
    }
  }
}
