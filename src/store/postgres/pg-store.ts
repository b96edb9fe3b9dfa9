/**
 * The store on PostgreSQL: the shared operations (../sql) on a connection pool. Calls outside a
 * transaction run on any pooled connection; `tx` checks out one connection, runs BEGIN/COMMIT
 * (ROLLBACK on error) on it, and store calls made from the transaction's async context (tracked
 * with AsyncLocalStorage) run on that connection, one at a time. Each call inside a transaction
 * runs under a savepoint, so a call that fails (a unique violation, say) does not abort the
 * whole transaction, as PostgreSQL otherwise would.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import type { IdempotencyKey, IdempotentResult, Store, StoreOps } from '../../core/ports/store.js';
import { CubbyError } from '../../errors/index.js';
import type { Row } from '../codec.js';
import { IDEMPOTENCY_TTL_MS, runIdempotent } from '../idempotent.js';
import { loadOrCreateMasterKey } from '../master-key.js';
import type { MigrateReport, Migration } from '../migration.js';
import { SecretBox } from '../secret-box.js';
import { sealClearEnvironments, type SqlCtx, sqlOps } from '../sql/ops.js';
import { postgresDialect } from './dialect.js';
import { mapPgError } from './errors.js';
import { migrate } from './migrate.js';
import { MIGRATIONS } from './migrations.js';
import { createPool, type PoolOptions } from './pool.js';

export { IDEMPOTENCY_TTL_MS };

export type PostgresStoreOptions = PoolOptions & {
  /** 32 bytes; default: `<dataDir>/master.key`, created on first use. One of the two is required. */
  masterKey?: Buffer;
  dataDir?: string;
  /** The clock used for created/updated times and idempotency expiry (tests move it). */
  now?: () => Date;
  idempotencyTtlMs?: number;
  /** The schema steps (tests add some); default: this program's. */
  migrations?: readonly Migration[];
};

export interface PostgresStore extends Store {
  /** What opening did to the schema. */
  readonly schema: MigrateReport;
}

interface Scope {
  client: pg.PoolClient;
  active: boolean;
  /** Calls inside one transaction run one at a time: their savepoints must not interleave. */
  queue: Promise<unknown>;
}

const closedError = (): CubbyError => new CubbyError('STORE_CLOSED', 'the store is closed');

/** `?` placeholders as PostgreSQL's $1, $2, ... (the shared statements hold no other `?`). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export async function openPostgresStore(opts: PostgresStoreOptions): Promise<PostgresStore> {
  const now = opts.now ?? (() => new Date());
  const { masterKey, dataDir } = opts;
  if (!masterKey && !dataDir)
    throw new CubbyError('STORE_MASTER_KEY_INVALID', 'a master key or a data directory for master.key is required');
  let box = masterKey ? new SecretBox(masterKey) : undefined;
  const pool = createPool('connectionString' in opts ? { connectionString: opts.connectionString } : { pool: opts.pool });

  let schema: MigrateReport;
  try {
    const client = await pool.connect();
    try {
      schema = await migrate(client, opts.migrations ?? MIGRATIONS, now);
    } finally {
      client.release();
    }
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw mapPgError(e);
  }

  const scopes = new AsyncLocalStorage<Scope>();
  const current = (): Scope | undefined => {
    const s = scopes.getStore();
    return s?.active ? s : undefined;
  };
  let closed = false;
  let closing: Promise<void> | undefined;
  /** Transactions and calls under way: close waits for them. */
  const running = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    running.add(p);
    const done = (): void => {
      running.delete(p);
    };
    p.then(done, done);
    return p;
  };

  async function query(sql: string, params: readonly unknown[] = []): Promise<pg.QueryResult<Row>> {
    const s = current();
    return (s ? s.client : pool).query<Row>(numbered(sql), params as unknown[]);
  }

  /** A connection of its own in a transaction: BEGIN, fn in its scope, COMMIT (ROLLBACK on error). */
  async function transaction<T>(fn: (scope: Scope) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    const scope: Scope = { client, active: true, queue: Promise.resolve() };
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const result = await scopes.run(scope, () => fn(scope));
        await scope.queue;
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await scope.queue.catch(() => undefined);
        await client.query('ROLLBACK').catch((err: Error) => {
          broken = err;
        });
        throw e;
      }
    } finally {
      scope.active = false;
      client.release(broken); // a connection that cannot roll back is discarded, not reused
    }
  }

  const ctx: SqlCtx = {
    dialect: postgresDialect,
    now,
    all: async (sql, params) => (await query(sql, params)).rows,
    get: async (sql, params) => (await query(sql, params)).rows[0],
    run: async (sql, params) => (await query(sql, params)).rowCount ?? 0,
    write: (fn) => (current() ? fn() : transaction(() => fn())),
    secrets: () => (box ??= new SecretBox(loadOrCreateMasterKey(dataDir as string))),
    idempotencyTtlMs: opts.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS,
  };
  const ops = sqlOps(ctx);
  const names = Object.keys(ops) as Array<keyof StoreOps>;
  try {
    await sealClearEnvironments(ctx); // image environments written before sealing existed
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw mapPgError(e);
  }
  const call = (name: keyof StoreOps, args: unknown[]): Promise<unknown> => (ops[name] as (...a: unknown[]) => Promise<unknown>)(...args);

  /** A call inside a transaction: queued behind the others, under a savepoint. */
  function inScope(s: Scope, name: keyof StoreOps, args: unknown[]): Promise<unknown> {
    const run = async (): Promise<unknown> => {
      await s.client.query('SAVEPOINT cubby_call');
      try {
        const result = await call(name, args);
        await s.client.query('RELEASE SAVEPOINT cubby_call');
        return result;
      } catch (e) {
        // If even this fails the connection is gone, and COMMIT will say so: report the call's own error.
        await s.client.query('ROLLBACK TO SAVEPOINT cubby_call; RELEASE SAVEPOINT cubby_call').catch(() => undefined);
        throw mapPgError(e);
      }
    };
    const p = s.queue.then(run, run);
    s.queue = p.catch(() => undefined);
    return p;
  }

  function view(fn: (name: keyof StoreOps, args: unknown[]) => Promise<unknown>): StoreOps {
    return Object.fromEntries(names.map((n) => [n, (...args: unknown[]) => fn(n, args)])) as unknown as StoreOps;
  }

  // The store's own methods: join this async context's transaction if there is one.
  const direct = view(async (name, args) => {
    const s = current();
    if (s) return inScope(s, name, args);
    if (closed) throw closedError();
    return track(
      (async () => {
        try {
          return await call(name, args);
        } catch (e) {
          throw mapPgError(e);
        }
      })(),
    );
  });

  async function tx<T>(fn: (t: StoreOps) => Promise<T>): Promise<T> {
    // Nested: run in the enclosing transaction. `direct` rather than the enclosing handle, so work
    // that outlives the enclosing transaction falls back to ordinary calls instead of failing.
    if (current()) return fn(direct);
    if (closed) throw closedError();
    return track(
      (async () => {
        try {
          return await transaction((scope) => {
            const handle = view(async (name, args) => {
              if (!scope.active) throw new CubbyError('CUBBY_INTERNAL', `store.${name} called on a transaction that has ended`);
              return inScope(scope, name, args);
            });
            return fn(handle);
          });
        } catch (e) {
          throw mapPgError(e);
        }
      })(),
    );
  }

  /** Concurrent creations with one key queue on a transaction-scoped advisory lock, so the second replays the first. */
  const idempotent = (key: IdempotencyKey, requestHash: string, create: (t: StoreOps) => Promise<string>): Promise<IdempotentResult> =>
    runIdempotent(
      {
        tx: (fn) =>
          tx(async (t) => {
            await ctx.run('SELECT pg_advisory_xact_lock(hashtextextended(?::text, 0))', [
              JSON.stringify([key.tenantId, key.operation, key.clientToken]),
            ]);
            return fn(t);
          }),
      },
      key,
      requestHash,
      create,
    );

  return {
    ...direct,
    schema,
    tx,
    sealSecret: (plaintext: string, aad: string) => ctx.secrets().seal(plaintext, aad),
    openSecret: (sealed: string, aad: string) => ctx.secrets().open(sealed, aad),
    idempotent,
    async close() {
      if (current()) throw new CubbyError('CUBBY_INTERNAL', 'store.close called inside a transaction');
      closed = true;
      closing ??= (async () => {
        while (running.size > 0) await Promise.allSettled([...running]);
        await pool.end();
      })();
      return closing;
    },
  };
}
