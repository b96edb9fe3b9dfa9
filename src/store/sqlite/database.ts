/**
 * Opening `<dataDir>/cubby.db`: WAL (readers never block the writer, and the daemon and the
 * operator CLI can share the file), foreign keys on, then the schema migrations. SQLite's own
 * busy timeout (which sleeps inside the call, freezing the event loop) only covers the
 * migrations; afterwards it is 0 and the store waits for another writer asynchronously.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CubbyError } from '../../errors/index.js';
import { migrate, type MigrateReport } from './migrate.js';
import { MIGRATIONS, type Migration } from './migrations.js';

export const DB_FILE = 'cubby.db';

export interface OpenDatabaseOptions {
  dataDir: string;
  busyTimeoutMs: number;
  synchronous: 'NORMAL' | 'FULL';
  now: () => Date;
  migrations?: readonly Migration[];
}

export function openDatabase(opts: OpenDatabaseOptions): { db: Database.Database; file: string; schema: MigrateReport } {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const file = join(opts.dataDir, DB_FILE);
  const db = new Database(file, { timeout: opts.busyTimeoutMs });
  try {
    // The WAL and shared-memory files take the database file's mode.
    try {
      chmodSync(file, 0o600);
    } catch {
      /* not ours to change: leave it */
    }
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new CubbyError('CUBBY_INTERNAL', `cannot switch ${file} to WAL (got ${String(mode)})`);
    db.pragma(`synchronous = ${opts.synchronous}`);
    db.pragma('foreign_keys = ON');
    const schema = migrate(db, opts.migrations ?? MIGRATIONS, opts.now);
    db.pragma('busy_timeout = 0');
    return { db, file, schema };
  } catch (e) {
    db.close();
    throw e;
  }
}
