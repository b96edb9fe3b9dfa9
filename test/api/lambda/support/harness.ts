/**
 * Starts the Lambda API on 127.0.0.1 over the REAL core (createCore) with a temporary SQLite
 * store and the fakes (test/support/fakes), with two tenants (A and B), and makes official
 * clients for them. Builds run on the fakes in milliseconds; the harness lets image create and
 * update calls answer only once their build has ended, so a test can launch from the image next.
 * Everything is torn down by `close()` (call it from t.after).
 */
import type { AddressInfo } from 'node:net';
import { LambdaMicrovmsClient, type LambdaMicrovmsClientConfig } from '@aws-sdk/client-lambda-microvms';
import type { FastifyInstance } from 'fastify';
import type { Image, ImageBuild, ImageVersion, Microvm, Page, PageRequest, Tenant } from '../../../../src/core/model.js';
import type { CoreServices } from '../../../../src/core/services.js';
import { createLambdaApi, type LambdaApiOptions } from '../../../../src/api/lambda/index.js';
import { startFakeCore, type FakeWorld } from '../../../support/fakes/core.js';

export { FAILING_ARTIFACT_MARK } from '../../../support/fakes/fake-images.js';

// The client warns once per process that it will need Node 22 from 2027; it says nothing about these tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export interface TestKey {
  accessKeyId: string;
  secretAccessKey: string;
  tenant: Tenant;
}

export const REGION = 'local';
export const DOMAIN = 'microvms.cubby.test';
export const GATEWAY_PORT = 8443;

function tenant(name: string, accountId: string): Tenant {
  return { id: `tn_${name}`, name, accountId, createdAt: new Date('2026-01-01T00:00:00Z') };
}

export const KEY_A: TestKey = {
  accessKeyId: 'CBKAAAAAAAAAAAAAAAAA',
  secretAccessKey: 'secret-of-tenant-a-0123456789',
  tenant: tenant('alpha', '111111111111'),
};
export const KEY_B: TestKey = {
  accessKeyId: 'CBKBBBBBBBBBBBBBBBBB',
  secretAccessKey: 'secret-of-tenant-b-0123456789',
  tenant: tenant('beta', '222222222222'),
};

/** State-changing service calls, recorded as "service.method" (tests assert refused requests reach none). */
const MUTATING = new Set([
  'images.create',
  'images.update',
  'images.delete',
  'images.setVersionStatus',
  'images.deleteVersion',
  'microvms.run',
  'microvms.suspend',
  'microvms.resume',
  'microvms.terminate',
  'tokens.createAuthToken',
  'tokens.createShellToken',
  'tags.tag',
  'tags.untag',
]);

export type RecordingCore = CoreServices & { calls: string[] };

/** Wraps each service so state-changing calls are recorded; methods stay replaceable by tests. */
function recording(services: CoreServices, afterWrite: (name: string) => Promise<void>): RecordingCore {
  const calls: string[] = [];
  const wrap = <S extends object>(svc: S, prefix: string): S =>
    new Proxy(svc, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        const name = `${prefix}.${String(prop)}`;
        if (typeof v !== 'function' || !MUTATING.has(name)) return typeof v === 'function' ? v.bind(target) : v;
        return async (...args: unknown[]) => {
          calls.push(name);
          const out = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          await afterWrite(name);
          return out;
        };
      },
    });
  return {
    calls,
    images: wrap(services.images, 'images'),
    microvms: wrap(services.microvms, 'microvms'),
    tokens: wrap(services.tokens, 'tokens'),
    tags: wrap(services.tags, 'tags'),
    usage: wrap(services.usage, 'usage'),
    quotas: services.quotas,
    roles: services.roles,
  };
}

/** What tenant A (or B) holds in the store, read through the store itself. */
export interface TenantState {
  images: Image[];
  versions: ImageVersion[];
  builds: ImageBuild[];
  microvms: Microvm[];
}

async function allPages<T>(list: (r: PageRequest) => Promise<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  let nextToken: string | undefined;
  do {
    const p = await list({ maxResults: 100, ...(nextToken ? { nextToken } : {}) });
    out.push(...p.items);
    nextToken = p.nextToken;
  } while (nextToken);
  return out;
}

export interface Harness {
  app: FastifyInstance;
  core: RecordingCore;
  /** The real core, the store and the fakes under it. */
  world: FakeWorld;
  url: string;
  port: number;
  /** The store's id of the key's tenant. */
  tenantId(key: TestKey): Promise<string>;
  /** The tenant's records as stored (oldest first). */
  state(key?: TestKey): Promise<TenantState>;
  /** An official client for the key; maxAttempts 1 unless overridden (errors surface at once). */
  client(key?: TestKey, config?: Partial<LambdaMicrovmsClientConfig>): LambdaMicrovmsClient;
  close(): Promise<void>;
}

export async function startHarness(options: Partial<LambdaApiOptions> = {}): Promise<Harness> {
  // Quotas and the host cap far above what any wire test launches (they are tested in test/core).
  const world = await startFakeCore({
    tenants: ['alpha', 'beta'],
    config: { maxActiveMicrovms: 100_000, quotas: { running: 100_000, memoryMiB: 1 << 30, suspended: 100_000, builds: 100_000 } },
  });
  // The wire's tenants (their account ids make the ARNs) are the store's tenants.
  const stored = new Map([
    [KEY_A.accessKeyId, world.tenants[0]],
    [KEY_B.accessKeyId, world.tenants[1]],
  ]);
  const keys = new Map(
    [KEY_A, KEY_B].map((k) => [k.accessKeyId, { ...k, tenant: { ...k.tenant, id: stored.get(k.accessKeyId)?.id ?? k.tenant.id } }]),
  );
  const core = recording(world.core.services, async (name) => {
    if (name === 'images.create' || name === 'images.update') await world.core.images.drain();
  });
  const app = createLambdaApi({
    core,
    lookupKey: async (id) => keys.get(id),
    lookupSession: (id, token) => world.core.sessions.verify(id, token),
    region: REGION,
    endpointFor: (id) => `http://${id}.${DOMAIN}:${GATEWAY_PORT}`,
    ...options,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const clients: LambdaMicrovmsClient[] = [];
  return {
    app,
    core,
    world,
    url,
    port,
    tenantId: async (key) => keys.get(key.accessKeyId)?.tenant.id ?? '',
    async state(key = KEY_A) {
      const tenantId = keys.get(key.accessKeyId)?.tenant.id ?? '';
      const s = world.store;
      const images = await allPages((r) => s.listImages(tenantId, r));
      const versions: ImageVersion[] = [];
      const builds: ImageBuild[] = [];
      for (const i of images) {
        for (const v of await allPages((r) => s.listVersions(tenantId, i.id, r))) {
          versions.push(v);
          builds.push(...(await allPages((r) => s.listBuilds(tenantId, i.id, v.version, r))));
        }
      }
      return { images, versions, builds, microvms: await allPages((r) => s.listMicrovms(tenantId, r)) };
    },
    client(key = KEY_A, config = {}) {
      const c = new LambdaMicrovmsClient({
        endpoint: url,
        region: REGION,
        maxAttempts: 1,
        credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
        ...config,
      });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.destroy();
      await app.close();
      await world.close();
    },
  };
}

/** The ARN of tenant `key`'s image `name`. */
export function imageArn(key: TestKey, name: string): string {
  return `arn:aws:lambda:${REGION}:${key.tenant.accountId}:microvm-image:${name}`;
}

export const MANAGED_PYTHON_ARN = `arn:aws:lambda:${REGION}:aws:microvm-image:debian-12-python`;
