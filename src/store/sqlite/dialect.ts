/** What SQLite says differently from PostgreSQL in the shared operations (../sql/context.ts). */
import type { Dialect } from '../sql/context.js';
import { mapSqliteError } from './errors.js';

export const sqliteDialect: Dialect = {
  inList: (column, values) => ({ sql: `${column} IN (${values.map(() => '?').join(', ')})`, params: [...values] }),
  // instr: case-sensitive, unlike SQLite's LIKE.
  contains: (column) => `instr(${column}, ?) > 0`,
  jsonNonEmptyObject: (column, member) =>
    `json_type(${column}, '$.${member}') = 'object' AND json_extract(${column}, '$.${member}') <> '{}'`,
  tableExists: `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`,
  // One writer at a time: BEGIN IMMEDIATE holds the database's write lock, no row locks to take.
  lock: { forUpdate: '', keyShare: '' },
  checkThenWrite: 'transaction',
  mapError: mapSqliteError,
};
