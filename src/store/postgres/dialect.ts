/** What PostgreSQL says differently from SQLite in the shared operations (../sql/context.ts). */
import type { Dialect } from '../sql/context.js';
import { mapPgError } from './errors.js';

export const postgresDialect: Dialect = {
  // One array parameter: the same statement text (and plan) for any number of values.
  inList: (column, values) => ({ sql: `${column} = ANY(?)`, params: [values] }),
  // strpos: a case-sensitive substring with no LIKE wildcards to escape.
  contains: (column) => `strpos(${column}, ?) > 0`,
  jsonNonEmptyObject: (column, member) => `jsonb_typeof(${column} -> '${member}') = 'object' AND ${column} -> '${member}' <> '{}'::jsonb`,
  tableExists: 'SELECT 1 WHERE to_regclass(?) IS NOT NULL',
  // FOR KEY SHARE: the row cannot be deleted (nor its key changed) before the transaction ends.
  lock: { forUpdate: ' FOR UPDATE', keyShare: ' FOR KEY SHARE' },
  checkThenWrite: 'constraint',
  mapError: mapPgError,
};
