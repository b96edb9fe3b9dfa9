/**
 * Starts the Lambda API on 127.0.0.1 over the in-memory core, with two tenants (A and B), and
 * makes official clients for them. Everything is torn down by `close()` (call it from t.after).
 */
import type { AddressInfo } from 'node:net';
import { LambdaMicrovmsClient, type LambdaMicrovmsClientConfig } from '@aws-sdk/client-lambda-microvms';
import type { FastifyInstance } from 'fastify';
import type { Tenant } from '../../../../src/core/model.js';
import { createLambdaApi, type LambdaApiOptions } from '../../../../src/api/lambda/index.js';
import { createMemoryCore, type MemoryCore } from './memory-core.js';

// The client warns once per process that it will need Node 22 from 2027; it says nothing about these tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export interface TestKey { accessKeyId: string; secretAccessKey: string; tenant: Tenant }

export const REGION = 'local';
export const DOMAIN = 'microvms.cubby.test';
export const GATEWAY_PORT = 8443;

function tenant(name: string, accountId: string): Tenant {
  return { id: `tn_${name}`, name, accountId, createdAt: new Date('2026-01-01T00:00:00Z') };
}

export const KEY_A: TestKey = { accessKeyId: 'CBKAAAAAAAAAAAAAAAAA', secretAccessKey: 'secret-of-tenant-a-0123456789', tenant: tenant('alpha', '111111111111') };
export const KEY_B: TestKey = { accessKeyId: 'CBKBBBBBBBBBBBBBBBBB', secretAccessKey: 'secret-of-tenant-b-0123456789', tenant: tenant('beta', '222222222222') };

export interface Harness {
  app: FastifyInstance;
  core: MemoryCore;
  url: string;
  port: number;
  /** An official client for the key; maxAttempts 1 unless overridden (errors surface at once). */
  client(key?: TestKey, config?: Partial<LambdaMicrovmsClientConfig>): LambdaMicrovmsClient;
  close(): Promise<void>;
}

export async function startHarness(options: Partial<LambdaApiOptions> = {}): Promise<Harness> {
  const core = createMemoryCore();
  const keys = new Map([KEY_A, KEY_B].map((k) => [k.accessKeyId, k]));
  const app = createLambdaApi({
    core,
    lookupKey: async (id) => keys.get(id),
    region: REGION,
    endpointFor: (id) => `http://${id}.${DOMAIN}:${GATEWAY_PORT}`,
    ...options,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const clients: LambdaMicrovmsClient[] = [];
  return {
    app, core, url, port,
    client(key = KEY_A, config = {}) {
      const c = new LambdaMicrovmsClient({
        endpoint: url, region: REGION, maxAttempts: 1,
        credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
        ...config,
      });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.destroy();
      await app.close();
    },
  };
}

/** The ARN of tenant `key`'s image `name`. */
export function imageArn(key: TestKey, name: string): string {
  return `arn:aws:lambda:${REGION}:${key.tenant.accountId}:microvm-image:${name}`;
}

export const MANAGED_PYTHON_ARN = `arn:aws:lambda:${REGION}:aws:microvm-image:debian-12-python`;
