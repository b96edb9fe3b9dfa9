/** `cubby e2b-key create|list|revoke`: tenants' E2B API keys (the E2B SDK's E2B_API_KEY), like access keys. */
import type { Command } from 'commander';
import type { Store } from '../../core/ports/store.js';
import { print } from '../output.js';

type Opts = { dataDir?: string; store?: string; json?: boolean };

export function registerE2bKeys(
  program: Command,
  d: {
    withStore<T>(o: Opts, fn: (s: Store) => Promise<T>): Promise<T>;
    tenantId(s: Store, nameOrId: string): Promise<string>;
    dataDir: readonly [string, string];
    store: readonly [string, string];
  },
): void {
  const e2b = program.command('e2b-key').description("manage tenants' E2B API keys (operator)");
  e2b
    .command('create <tenant>')
    .description('issue a new E2B API key (e2b_ + 40 hex); shown once')
    .option(...d.dataDir)
    .option(...d.store)
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: Opts) =>
      d.withStore(o, async (s) => {
        const k = await s.createE2bKey(await d.tenantId(s, name));
        print({ keyId: k.keyId, e2bApiKey: k.apiKey }, o);
      }),
    );
  e2b
    .command('list <tenant>')
    .description("list a tenant's E2B API keys (never the keys themselves: their last 4 characters)")
    .option(...d.dataDir)
    .option(...d.store)
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: Opts) =>
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
  e2b
    .command('revoke <keyId>')
    .description('revoke an E2B API key at once')
    .option(...d.dataDir)
    .option(...d.store)
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: Opts) =>
      d.withStore(o, async (s) => {
        const k = await s.revokeE2bKey(id);
        print({ keyId: k.keyId, status: k.status, revokedAt: k.revokedAt }, o);
      }),
    );
}
