/**
 * The store on an embedded SQLite file: the shared operations (../sql) on one better-sqlite3
 * connection, whose statements run synchronously (the context's promises are resolved at once).
 * One connection serves the process, so an operation holds the gate from its first statement to
 * its last (another operation's statements must not land between them), and a transaction holds
 * it from BEGIN to COMMIT. Inside a transaction's callback, calls on the store itself join the
 * transaction (tracked with AsyncLocalStorage), one at a time, instead of waiting for it to end,
 * which would never happen. Writes and check-then-writes run under BEGIN IMMEDIATE (a savepoint
 * inside a transaction), so no other connection's writer comes between a check and its write.
 * When another connection (the operator CLI) holds the write lock, a call fails at once with
 * SQLITE_BUSY before changing anything, and is retried after a growing pause until busyTimeoutMs:
 * the event loop keeps running meanwhile, so the daemon keeps serving and a second handle in the
 * same process cannot deadlock with the first.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import type { IdempotencyKey, IdempotentResult, Store, StoreOps } from '../../core/ports/store.js';
import { CubbyError, isCubbyError } from '../../errors/index.js';
import type { Row } from '../codec.js';
import { IDEMPOTENCY_TTL_MS, runIdempotent } from '../idempotent.js';
import { loadOrCreateMasterKey } from '../master-key.js';
import { SecretBox } from '../secret-box.js';
import { type Params, sealClearEnvironments, type SqlCtx, sqlOps } from '../sql/ops.js';
import { openDatabase } from './database.js';
import { sqliteDialect } from './dialect.js';
import { mapSqliteError } from './errors.js';
import { Gate } from './gate.js';
import type { MigrateReport } from './migrate.js';

export { IDEMPOTENCY_TTL_MS };

export interface SqliteStoreOptions {
  /** Holds cubby.db (and master.key unless masterKey is given). Created 0700 if missing. */
  dataDir: string;
  /** 32 bytes; default: `<dataDir>/master.key`, created on first use. */
  masterKey?: Buffer;
  /** How long a writer waits for another connection's write lock (default 5000 ms). */
  busyTimeoutMs?: number;
  /** FULL (default) makes each commit durable across power loss; NORMAL only across process crashes. */
  synchronous?: 'NORMAL' | 'FULL';
  /** The clock used for created/updated times and idempotency expiry (tests move it). */
  now?: () => Date;
  idempotencyTtlMs?: number;
}

export interface SqliteStore extends Store {
  /** Path of the database file. */
  readonly file: string;
  /** What opening did to the schema. */
  readonly schema: MigrateReport;
}

interface TxScope {
  active: boolean;
  /** Calls inside one transaction run one at a time: their statements and savepoints must not interleave. */
  queue: Promise<unknown>;
}

const NONE: Params = [];
const closedError = (): CubbyError => new CubbyError('STORE_CLOSED', 'the store is closed');

/** The shared operations' context on one connection. */
function sqliteContext(db: Database.Database, opts: SqliteStoreOptions, now: () => Date): SqlCtx {
  const statements = new Map<string, Database.Statement<unknown[], Row>>();
  const q = (sql: string): Database.Statement<unknown[], Row> => {
    let st = statements.get(sql);
    if (!st) {
      st = db.prepare<unknown[], Row>(sql);
      statements.set(sql, st);
    }
    return st;
  };
  let box = opts.masterKey ? new SecretBox(opts.masterKey) : undefined;
  return {
    dialect: sqliteDialect,
    now,
    all: (sql, params = NONE) => Promise.resolve(q(sql).all(...params)),
    get: (sql, params = NONE) => Promise.resolve(q(sql).get(...params)),
    run: (sql, params = NONE) => Promise.resolve(q(sql).run(...params).changes),
    async write(fn) {
      // Only the holder of the gate runs statements, so an open transaction here is the caller's own.
      const nested = db.inTransaction;
      db.exec(nested ? 'SAVEPOINT cubby_write' : 'BEGIN IMMEDIATE');
      try {
        const result = await fn();
        db.exec(nested ? 'RELEASE cubby_write' : 'COMMIT');
        return result;
      } catch (e) {
        if (db.inTransaction) db.exec(nested ? 'ROLLBACK TO cubby_write; RELEASE cubby_write' : 'ROLLBACK');
        throw e;
      }
    },
    secrets: () => (box ??= new SecretBox(loadOrCreateMasterKey(opts.dataDir))),
    idempotencyTtlMs: opts.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS,
  };
}

/**
 * Seals clear image environments (../sql/seal-env.ts) with secure_delete on, which zeroes the
 * clear bytes the rewrite frees, then truncates the WAL so no old page copy lingers there either.
 */
async function sealAtOpen(db: Database.Database, ctx: SqlCtx): Promise<void> {
  const previous = db.pragma('secure_delete', { simple: true }) as number;
  db.pragma('secure_delete = ON');
  try {
    if ((await sealClearEnvironments(ctx)) > 0) db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.pragma(`secure_delete = ${previous ? 'ON' : 'OFF'}`);
  }
}

export async function openSqliteStore(opts: SqliteStoreOptions): Promise<SqliteStore> {
  const now = opts.now ?? (() => new Date());
  const { db, file, schema } = openDatabase({
    dataDir: opts.dataDir,
    busyTimeoutMs: opts.busyTimeoutMs ?? 5000,
    synchronous: opts.synchronous ?? 'FULL',
    now,
  });
  const ctx = sqliteContext(db, opts, now);
  const ops = sqlOps(ctx);
  const names = Object.keys(ops) as Array<keyof StoreOps>;
  try {
    await sealAtOpen(db, ctx); // image environments written before sealing existed
  } catch (e) {
    db.close();
    throw mapSqliteError(e);
  }

  const gate = new Gate();
  const scopes = new AsyncLocalStorage<TxScope>();
  let closed = false;

  const call = async (name: keyof StoreOps, args: unknown[]): Promise<unknown> => {
    if (closed) throw closedError();
    try {
      return await (ops[name] as (...a: unknown[]) => Promise<unknown>)(...args);
    } catch (e) {
      throw mapSqliteError(e);
    }
  };

  const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
  /** Retries fn while the database is locked by another connection, up to the busy timeout. */
  async function patiently<T>(fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + busyTimeoutMs;
    for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
      try {
        return await fn();
      } catch (e) {
        if (!isCubbyError(e, 'STORE_BUSY') || Date.now() + pause > deadline) throw e;
      }
      await new Promise((r) => setTimeout(r, pause));
    }
  }

  /** A call inside a transaction: queued behind the others. No retry: the write lock is already ours. */
  function inScope(s: TxScope, name: keyof StoreOps, args: unknown[]): Promise<unknown> {
    const p = s.queue.then(() => call(name, args));
    s.queue = p.catch(() => undefined);
    return p;
  }

  /** Until the calls queued in the transaction (including any queued meanwhile) have ended. */
  async function drain(s: TxScope): Promise<void> {
    for (let q = s.queue; ; q = s.queue) {
      await q;
      if (q === s.queue) return;
    }
  }

  function view(fn: (name: keyof StoreOps, args: unknown[]) => Promise<unknown>): StoreOps {
    return Object.fromEntries(names.map((n) => [n, (...args: unknown[]) => fn(n, args)])) as unknown as StoreOps;
  }

  // The store's own methods: join this async context's open transaction, else take the gate.
  const direct = view((name, args) => {
    const s = scopes.getStore();
    if (s?.active) return inScope(s, name, args);
    return patiently(() => gate.run(() => call(name, args)));
  });

  async function tx<T>(fn: (t: StoreOps) => Promise<T>): Promise<T> {
    // Nested: run in the enclosing transaction. `direct` rather than the enclosing handle, so work
    // that outlives the enclosing transaction falls back to ordinary calls instead of failing.
    if (scopes.getStore()?.active) return fn(direct);
    await gate.acquire();
    try {
      if (closed) throw closedError();
      const scope: TxScope = { active: true, queue: Promise.resolve() };
      const handle = view((name, args) =>
        scope.active
          ? inScope(scope, name, args)
          : Promise.reject(new CubbyError('CUBBY_INTERNAL', `store.${name} called on a transaction that has ended`)),
      );
      try {
        await patiently(async () => {
          try {
            db.exec('BEGIN IMMEDIATE');
          } catch (e) {
            throw mapSqliteError(e);
          }
        });
        try {
          const result = await scopes.run(scope, () => fn(handle));
          await drain(scope);
          scope.active = false;
          db.exec('COMMIT');
          return result;
        } catch (e) {
          await drain(scope);
          if (db.inTransaction) db.exec('ROLLBACK');
          throw mapSqliteError(e);
        }
      } finally {
        scope.active = false;
      }
    } finally {
      gate.release();
    }
  }

  return {
    ...direct,
    file,
    schema,
    tx,
    sealSecret: (plaintext: string, aad: string) => ctx.secrets().seal(plaintext, aad),
    openSecret: (sealed: string, aad: string) => ctx.secrets().open(sealed, aad),
    idempotent: (key: IdempotencyKey, requestHash: string, create: (t: StoreOps) => Promise<string>): Promise<IdempotentResult> =>
      runIdempotent({ tx }, key, requestHash, create),
    async close() {
      if (scopes.getStore()?.active) throw new CubbyError('CUBBY_INTERNAL', 'store.close called inside a transaction');
      await gate.acquire();
      try {
        if (closed) return;
        closed = true;
        db.close();
      } finally {
        gate.release();
      }
    },
  };
}
