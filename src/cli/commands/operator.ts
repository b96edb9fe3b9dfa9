/**
 * Operator commands: tenants and access keys, acting on the data directory's store directly
 * (works while the daemon runs: the store is safe for two processes).
 */
import type { Command } from 'commander';
import { openStore, storeUrl } from '../../store/open-store.js';
import { DEFAULT_DATA_DIR } from '../../daemon/config.js';
import type { Store } from '../../core/ports/store.js';
import { CubbyError } from '../../errors/index.js';
import { print } from '../output.js';
import { registerTenantQuota } from './quota.js';
import { registerE2bKeys } from './e2b-keys.js';
import { registerConsoleLogin } from './console-login.js';
import { storeOptions, type StoreOpts } from './store-options.js';

async function withStore<T>(o: { dataDir?: string; store?: string }, fn: (s: Store) => Promise<T>): Promise<T> {
  const url = storeUrl(o.store);
  const store = await openStore({ dataDir: o.dataDir ?? DEFAULT_DATA_DIR, ...(url !== undefined ? { url } : {}) });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function tenantId(store: Store, nameOrId: string): Promise<string> {
  const t = (await store.getTenantByName(nameOrId)) ?? (await store.getTenant(nameOrId)) ?? (await store.getTenantByAccountId(nameOrId));
  if (!t) throw new CubbyError('TENANT_NOT_FOUND', `no tenant ${nameOrId}`);
  return t.id;
}

export function registerOperator(program: Command): void {
  const tenant = program.command('tenant').description('manage tenants (operator)');
  storeOptions(tenant.command('create <name>').description('create a tenant with its first access key and E2B API key')).action(
    async (name: string, o: StoreOpts) =>
      withStore(o, async (s) => {
        const { t, k, e } = await s.tx(async (x) => {
          const t = await x.createTenant(name);
          return { t, k: await x.createKey(t.id), e: await x.createE2bKey(t.id) };
        });
        print(
          {
            tenant: t.name,
            tenantId: t.id,
            accountId: t.accountId,
            accessKeyId: k.accessKeyId,
            secretAccessKey: k.secretAccessKey,
            e2bApiKey: e.apiKey,
          },
          o,
        );
      }),
  );
  storeOptions(tenant.command('list').description('list tenants')).action(async (o: StoreOpts) =>
    withStore(o, async (s) => {
      print(
        (await s.listTenants()).map((t) => ({ name: t.name, accountId: t.accountId, id: t.id, createdAt: t.createdAt })),
        o,
      );
    }),
  );

  registerTenantQuota(tenant, { withStore, tenantId });
  registerE2bKeys(program, { withStore, tenantId });
  registerConsoleLogin(program);

  const key = program.command('key').description('manage access keys (operator)');
  storeOptions(key.command('create <tenant>').description('issue a new access key pair')).action(async (name: string, o: StoreOpts) =>
    withStore(o, async (s) => {
      const k = await s.createKey(await tenantId(s, name));
      print({ accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey }, o);
    }),
  );
  storeOptions(key.command('list <tenant>').description("list a tenant's keys (never their secrets)")).action(
    async (name: string, o: StoreOpts) =>
      withStore(o, async (s) => {
        print(
          (await s.listKeys(await tenantId(s, name))).map((k) => ({
            accessKeyId: k.accessKeyId,
            status: k.status,
            createdAt: k.createdAt,
            revokedAt: k.revokedAt,
          })),
          o,
        );
      }),
  );
  storeOptions(key.command('revoke <accessKeyId>').description('revoke a key at once')).action(async (id: string, o: StoreOpts) =>
    withStore(o, async (s) => {
      const k = await s.revokeKey(id);
      print({ accessKeyId: k.accessKeyId, status: k.status, revokedAt: k.revokedAt }, o);
    }),
  );
}
