/**
 * The store's data operations, written once for both databases over one async query context
 * (context.ts): the SQLite store (../sqlite) and the PostgreSQL store (../postgres) each supply
 * the context, a dialect object, their schema migrations and their own transaction wrapper.
 *
 * Why plain SQL strings and not a query builder such as Kysely: the two dialects share nearly
 * every statement as written (`?` placeholders, which the PostgreSQL context numbers; `ON
 * CONFLICT ... DO UPDATE`; `RETURNING *`; row values in keyset paging), and the few real
 * differences (list membership, row locks, substring and JSON tests, how a check-then-insert
 * stays atomic, error mapping) fit in a dialect object of a dozen lines each. A builder would be
 * a new dependency whose async executor sits between the caller and better-sqlite3's synchronous
 * calls on every statement, and it would not remove the per-dialect transaction and locking
 * code, which is where the two stores truly differ. Codecs need no dialect hook either: times
 * are epoch milliseconds in integer columns in both schemas and the PostgreSQL pool returns
 * BIGINT as numbers and JSONB as text (postgres/pool.ts), so records.ts maps rows for both.
 *
 * How a store must run these: the statements of one operation may be separated by awaits, so no
 * other operation may use the same connection in between (SQLite: the gate in sqlite-store.ts;
 * PostgreSQL: a pooled connection, or one transaction's calls queued one at a time).
 */
import type { StoreOps } from '../../core/ports/store.js';
import { buildOps } from './build-ops.js';
import { e2bKeyOps } from './e2b-key-ops.js';
import type { SqlCtx } from './context.js';
import { idempotencyOps } from './idempotency-ops.js';
import { imageOps } from './image-ops.js';
import { microvmOps } from './microvm-ops.js';
import { quotaOps } from './quota-ops.js';
import { roleOps } from './role-ops.js';
import { tagOps } from './tag-ops.js';
import { tenantOps } from './tenant-ops.js';
import { versionOps } from './version-ops.js';

export { sealClearEnvironments } from './seal-env.js';
export { checkThenWrite, type Dialect, type Fragment, type Params, type SqlCtx } from './context.js';

/** Every data method of the store port, on ctx. */
export function sqlOps(ctx: SqlCtx): StoreOps {
  return {
    ...tenantOps(ctx),
    ...e2bKeyOps(ctx),
    ...imageOps(ctx),
    ...versionOps(ctx),
    ...buildOps(ctx),
    ...microvmOps(ctx),
    ...tagOps(ctx),
    ...quotaOps(ctx),
    ...roleOps(ctx),
    ...idempotencyOps(ctx),
  };
}
