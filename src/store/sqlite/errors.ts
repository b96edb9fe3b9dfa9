/**
 * SQLite's errors as CubbyErrors. A unique violation means another writer got there first (the
 * same codes the PostgreSQL store maps from its constraint names); a lock held too long is worth
 * retrying (STORE_BUSY); anything else is a bug.
 */
import Database from 'better-sqlite3';
import { CubbyError, type ErrorCode } from '../../errors/index.js';

/** Unique constraints (as SQLite names them: the table's columns) whose violation has its own code. */
const UNIQUE_CODES: Record<string, ErrorCode> = {
  'tenants.name': 'TENANT_EXISTS',
  'images.tenant_id, images.name': 'IMAGE_EXISTS',
  'roles.tenant_id, roles.name': 'ROLE_EXISTS',
};

export function mapSqliteError(e: unknown): unknown {
  if (e instanceof CubbyError) return e;
  if (!(e instanceof Database.SqliteError)) return e;
  if (e.code.startsWith('SQLITE_BUSY') || e.code.startsWith('SQLITE_LOCKED')) {
    return new CubbyError('STORE_BUSY', 'the database is busy (locked by another writer); retry', { cause: e });
  }
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const columns = /constraint failed: (.+)$/.exec(e.message)?.[1] ?? '';
    return new CubbyError(UNIQUE_CODES[columns] ?? 'STORE_CONFLICT', `already exists (${columns || 'unique constraint'})`, { cause: e });
  }
  return new CubbyError('CUBBY_INTERNAL', `database error: ${e.message}`, { cause: e, details: { sqliteCode: e.code } });
}
