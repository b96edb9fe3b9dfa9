/**
 * The store on an embedded SQLite file. Statements run synchronously (better-sqlite3); the port's
 * Promises are resolved at once unless a transaction is open, in which case callers wait at the
 * gate. Inside a transaction's callback, calls on the store itself join the transaction (tracked
 * with AsyncLocalStorage) instead of waiting for it to end, which would never happen.
 * When another connection (the operator CLI) holds the write lock, a call fails at once with
 * SQLITE_BUSY before changing anything, and is retried after a growing pause until busyTimeoutMs:
 * the event loop keeps running meanwhile, so the daemon keeps serving and a second handle in the
 * same process cannot deadlock with the first.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import type { IdempotencyKey, IdempotentResult, Store, StoreOps } from '../../core/ports/store.js';
import { CubbyError, isCubbyError } from '../../errors/index.js';
import { IDEMPOTENCY_TTL_MS, runIdempotent } from '../idempotent.js';
import { loadOrCreateMasterKey } from '../master-key.js';
import { SecretBox } from '../secret-box.js';
import { buildOps } from './build-ops.js';
import type { Row } from '../codec.js';
import type { Ctx, SyncOps } from './context.js';
import { mapSqliteError, openDatabase } from './database.js';
import { Gate } from './gate.js';
import { idempotencyOps } from './idempotency-ops.js';
import { imageOps } from './image-ops.js';
import type { MigrateReport } from './migrate.js';
import { microvmOps } from './microvm-ops.js';
import { quotaOps } from './quota-ops.js';
import { tagOps } from './tag-ops.js';
import { tenantOps } from './tenant-ops.js';
import { sealClearEnvironments } from './seal-env.js';
import { versionOps } from './version-ops.js';

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

interface TxScope { active: boolean }

export async function openSqliteStore(opts: SqliteStoreOptions): Promise<SqliteStore> {
  const now = opts.now ?? (() => new Date());
  const { db, file, schema } = openDatabase({
    dataDir: opts.dataDir, busyTimeoutMs: opts.busyTimeoutMs ?? 5000, synchronous: opts.synchronous ?? 'FULL', now,
  });

  const statements = new Map<string, Database.Statement<unknown[], Row>>();
  let box = opts.masterKey ? new SecretBox(opts.masterKey) : undefined;
  const ctx: Ctx = {
    db,
    now,
    q(sql) {
      let st = statements.get(sql);
      if (!st) { st = db.prepare<unknown[], Row>(sql); statements.set(sql, st); }
      return st;
    },
    write: (fn) => db.transaction(fn).immediate(),
    secrets: () => (box ??= new SecretBox(loadOrCreateMasterKey(opts.dataDir))),
    idempotencyTtlMs: opts.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS,
  };
  const ops: SyncOps = {
    ...tenantOps(ctx), ...imageOps(ctx), ...versionOps(ctx), ...buildOps(ctx),
    ...microvmOps(ctx), ...tagOps(ctx), ...quotaOps(ctx), ...idempotencyOps(ctx),
  };
  const names = Object.keys(ops) as Array<keyof SyncOps>;
  try {
    sealClearEnvironments(ctx); // image environments written before sealing existed
  } catch (e) {
    db.close();
    throw e;
  }

  const gate = new Gate();
  const scopes = new AsyncLocalStorage<TxScope>();
  let closed = false;

  const runNow = (name: keyof SyncOps, args: unknown[]): unknown => {
    if (closed) throw new CubbyError('STORE_CLOSED', 'the store is closed');
    try {
      return (ops[name] as (...a: unknown[]) => unknown)(...args);
    } catch (e) {
      throw mapSqliteError(e);
    }
  };

  const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
  /** Retries fn while the database is locked by another connection, up to the busy timeout. */
  async function patiently<T>(fn: () => Promise<T> | T): Promise<T> {
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

  const exclusive = async <T>(fn: () => Promise<T> | T): Promise<T> => {
    await gate.acquire();
    try { return await fn(); } finally { gate.release(); }
  };

  function view(call: (name: keyof SyncOps, args: unknown[]) => Promise<unknown>): StoreOps {
    return Object.fromEntries(names.map((n) => [n, (...args: unknown[]) => call(n, args)])) as unknown as StoreOps;
  }

  // The store's own methods: join an open transaction of this async context, else wait for the gate.
  // Inside a transaction the write lock is already ours: no retry there.
  const direct = view(async (name, args) => {
    if (scopes.getStore()?.active) return runNow(name, args);
    return patiently(() => (gate.held ? exclusive(() => runNow(name, args)) : runNow(name, args)));
  });

  async function tx<T>(fn: (t: StoreOps) => Promise<T>): Promise<T> {
    // Nested: run in the enclosing transaction. `direct` rather than the enclosing handle, so work
    // that outlives the enclosing transaction falls back to ordinary calls instead of failing.
    if (scopes.getStore()?.active) return fn(direct);
    return exclusive(async () => {
      if (closed) throw new CubbyError('STORE_CLOSED', 'the store is closed');
      const scope: TxScope = { active: true };
      const handle = view(async (name, args) => {
        if (!scope.active) throw new CubbyError('CUBBY_INTERNAL', `store.${name} called on a transaction that has ended`);
        return runNow(name, args);
      });
      try {
        await patiently(() => {
          try { db.exec('BEGIN IMMEDIATE'); } catch (e) { throw mapSqliteError(e); }
        });
        try {
          const result = await scopes.run(scope, () => fn(handle));
          db.exec('COMMIT');
          return result;
        } catch (e) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw mapSqliteError(e);
        }
      } finally {
        scope.active = false;
      }
    });
  }

  return {
    ...direct,
    file,
    schema,
    tx,
    idempotent: (key: IdempotencyKey, requestHash: string, create: (t: StoreOps) => Promise<string>): Promise<IdempotentResult> =>
      runIdempotent({ tx }, key, requestHash, create),
    async close() {
      if (scopes.getStore()?.active) throw new CubbyError('CUBBY_INTERNAL', 'store.close called inside a transaction');
      await exclusive(() => {
        if (closed) return;
        closed = true;
        db.close();
      });
    },
  };
}
