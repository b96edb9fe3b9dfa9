/**
 * The connection pool. BIGINT columns (epoch-ms times, seq, counts) come back as numbers, not
 * the driver's default strings; JSONB comes back as text so the shared codec parses it.
 */
import pg from 'pg';

const JSON_OIDS = new Set<number>([pg.types.builtins.JSON, pg.types.builtins.JSONB]);

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === pg.types.builtins.INT8) return (v: string) => Number(v);
    if (JSON_OIDS.has(oid)) return (v: string) => v;
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

export type PoolOptions = { connectionString: string } | { pool: pg.PoolConfig };

export function createPool(opts: PoolOptions): pg.Pool {
  const config: pg.PoolConfig = 'connectionString' in opts ? { connectionString: opts.connectionString } : { ...opts.pool };
  // Like SQLite's busy timeout: a row lock held past 5 s is STORE_BUSY, not an endless wait; a
  // client that died inside a transaction (locks held, nobody to commit) is ended after a minute.
  const pool = new pg.Pool({
    max: 10,
    connectionTimeoutMillis: 10_000,
    lock_timeout: 5_000,
    idle_in_transaction_session_timeout: 60_000,
    ...config,
    types,
  });
  // An idle connection the server drops (restart, admin kill) is reported here; without a
  // listener it would crash the process. The pool replaces it on next use.
  pool.on('error', () => undefined);
  return pool;
}
