/**
 * The E2B control plane in-process: the Lambda API app (so the two front doors share one app as
 * in the daemon) with the E2B plugin registered, over the REAL core with a temporary SQLite store
 * and the fakes (test/support/fakes), two tenants with E2B keys, and an image `app` per tenant.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createLambdaApi } from '../../../../src/api/lambda/index.js';
import { registerE2bApi, type E2bApiOptions } from '../../../../src/api/e2b/index.js';
import type { Microvm } from '../../../../src/core/model.js';
import { readyImage, startFakeCore, type FakeWorld } from '../../../support/fakes/core.js';

export const DOMAIN = 'sandbox.cubby.test';

export interface E2bHarness {
  app: FastifyInstance;
  world: FakeWorld;
  url: string;
  keyA: string;
  keyB: string;
  keyBId: string;
  /** fetch against the API with tenant A's key (or `key`; null: none). */
  // The body is whatever JSON came back; tests index into it freely.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call(method: string, path: string, body?: unknown, key?: string | null): Promise<{ status: number; body: any; headers: Headers }>;
  /** Every microVM of tenant A (or B) as stored. */
  microvms(tenant?: 0 | 1): Promise<Microvm[]>;
  close(): Promise<void>;
}

export async function startE2bHarness(over: Partial<E2bApiOptions> = {}): Promise<E2bHarness> {
  const world = await startFakeCore({
    tenants: ['alpha', 'beta'],
    config: { maxActiveMicrovms: 100_000, quotas: { running: 100_000, memoryMiB: 1 << 30, suspended: 100_000, builds: 100_000 } },
  });
  const [ta, tb] = world.tenants;
  if (!ta || !tb) throw new Error('no tenants');
  await readyImage(world, 'app');
  await readyImage({ ...world, caller: { tenant: tb } }, 'app');
  const keyA = (await world.store.createE2bKey(ta.id)).apiKey;
  const kb = await world.store.createE2bKey(tb.id);
  const app = createLambdaApi({
    core: world.core.services,
    lookupKey: async () => undefined,
    region: 'local',
    endpointFor: (id) => `http://${id}.${DOMAIN}`,
  });
  registerE2bApi(app, {
    core: world.core.services,
    domain: DOMAIN,
    lookupApiKey: async (k) => (await world.store.getE2bKeyForAuth(k))?.tenant,
    sealSecret: (p, aad) => world.store.sealSecret(p, aad),
    openSecret: (s, aad) => world.store.openSecret(s, aad),
    ...over,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    app,
    world,
    url,
    keyA,
    keyB: kb.apiKey,
    keyBId: kb.keyId,
    async call(method, path, body, key = keyA) {
      const headers: Record<string, string> = {};
      if (key !== null) headers['x-api-key'] = key;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(url + path, {
        method,
        headers,
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
    async microvms(tenant = 0) {
      const t = world.tenants[tenant];
      return t ? (await world.store.listMicrovms(t.id, { maxResults: 100 })).items : [];
    },
    async close() {
      await app.close();
      await world.close();
    },
  };
}
