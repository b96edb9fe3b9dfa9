/**
 * Choosing the store from one setting (`--store URL` or CUBBY_STORE), for the daemon and the
 * operator CLI alike: absent means the embedded SQLite in the data directory; a postgres:// or
 * postgresql:// URL means PostgreSQL. The master key stays `<dataDir>/master.key` either way.
 */
import type { Store } from '../core/ports/store.js';
import { CubbyError } from '../errors/index.js';
import { openPostgresStore } from './postgres/index.js';
import { openSqliteStore } from './sqlite/index.js';

/** The flag's value, else the environment's; undefined = the default (SQLite). */
export function storeUrl(flag?: string): string | undefined {
  const url = flag ?? process.env.CUBBY_STORE;
  return url === undefined || url.trim() === '' ? undefined : url.trim();
}

export function storeKind(url: string | undefined): 'sqlite' | 'postgres' {
  if (url === undefined || url === 'sqlite') return 'sqlite';
  if (/^postgres(ql)?:\/\//i.test(url)) return 'postgres';
  // Not echoed back: a URL may hold a password.
  throw new CubbyError('CUBBY_VALIDATION', 'store must be a postgres:// or postgresql:// URL (or absent for the embedded SQLite store)');
}

export async function openStore(opts: { dataDir: string; url?: string }): Promise<Store> {
  return storeKind(opts.url) === 'postgres'
    ? openPostgresStore({ connectionString: opts.url as string, dataDir: opts.dataDir })
    : openSqliteStore({ dataDir: opts.dataDir });
}
