/** `cubby e2b-key create|list|revoke`: tenants' E2B API keys (the E2B SDK's E2B_API_KEY), like access keys. */
import type { Command } from 'commander';
import type { Store } from '../../core/ports/store.js';
import { print } from '../output.js';
import { storeOptions, type StoreOpts } from './store-options.js';

export function registerE2bKeys(
  program: Command,
  d: {
    withStore<T>(o: StoreOpts, fn: (s: Store) => Promise<T>): Promise<T>;
    tenantId(s: Store, nameOrId: string): Promise<string>;
  },
): void {
  const e2b = program.command('e2b-key').description("manage tenants' E2B API keys (operator)");
  storeOptions(e2b.command('create <tenant>').description('issue a new E2B API key (e2b_ + 40 hex); shown once')).action(
    async (name: string, o: StoreOpts) =>
      d.withStore(o, async (s) => {
        const k = await s.createE2bKey(await d.tenantId(s, name));
        print({ keyId: k.keyId, e2bApiKey: k.apiKey }, o);
      }),
  );
  storeOptions(
    e2b.command('list <tenant>').description("list a tenant's E2B API keys (never the keys themselves: their last 4 characters)"),
  ).action(async (name: string, o: StoreOpts) =>
    d.withStore(o, async (s) => {
      print(
        (await s.listE2bKeys(await d.tenantId(s, name))).map((k) => ({
          keyId: k.keyId,
          endsWith: k.hint,
          status: k.status,
          createdAt: k.createdAt,
          revokedAt: k.revokedAt,
        })),
        o,
      );
    }),
  );
  storeOptions(e2b.command('revoke <keyId>').description('revoke an E2B API key at once')).action(async (id: string, o: StoreOpts) =>
    d.withStore(o, async (s) => {
      const k = await s.revokeE2bKey(id);
      print({ keyId: k.keyId, status: k.status, revokedAt: k.revokedAt }, o);
    }),
  );
}
