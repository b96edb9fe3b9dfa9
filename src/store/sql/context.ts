/**
 * What the shared operation modules run on: one async query context per store (SQLite resolves
 * its promises at once, PostgreSQL goes to the server), and the dialect, which holds the little
 * SQL that really differs between the two. Statements are written with `?` placeholders; the
 * PostgreSQL context numbers them ($1, $2, ...).
 */
import type { Row } from '../codec.js';
import type { SecretBox } from '../secret-box.js';

export type Params = readonly unknown[];

/** A predicate and the parameters it binds, in order. */
export interface Fragment {
  sql: string;
  params: unknown[];
}

export interface Dialect {
  /**
   * `column` is one of `values` (a non-empty list): `IN (?, ?, ...)` in SQLite, `= ANY(?)` with
   * one array parameter in PostgreSQL (one statement text for any length).
   */
  inList(column: string, values: readonly unknown[]): Fragment;
  /** Case-sensitive substring test of `column` against one `?` (no LIKE wildcards to escape). */
  contains(column: string): string;
  /** `column`'s JSON `member` is an object with at least one key. */
  jsonNonEmptyObject(column: string, member: string): string;
  /** A SELECT with one `?` (a table name) that returns a row only when that table exists. */
  readonly tableExists: string;
  /**
   * Row locks for a SELECT inside a write: the read rows stay as read until the transaction
   * ends. Empty in SQLite, where BEGIN IMMEDIATE already holds the one write lock.
   */
  readonly lock: { forUpdate: string; keyShare: string };
  /**
   * How a check followed by a write (is the name taken? then insert) stays atomic:
   * 'transaction' runs both under the write lock (SQLite: no other writer can come between);
   * 'constraint' runs them as they are, a racing writer's row failing a unique constraint that
   * maps to the same error code (PostgreSQL, whose READ COMMITTED would not stop the race anyway).
   */
  readonly checkThenWrite: 'transaction' | 'constraint';
  /** The driver's errors as CubbyErrors: unique violations, busy/lock timeouts, the rest. */
  mapError(e: unknown): unknown;
}

export interface SqlCtx {
  readonly dialect: Dialect;
  now(): Date;
  /**
   * The statement's rows, run on this async context's transaction if one is open. Upserts are
   * `INSERT ... ON CONFLICT (...) DO UPDATE SET col = excluded.col` and `RETURNING *` works
   * after INSERT, UPDATE and DELETE: both databases take that syntax as is.
   */
  all(sql: string, params?: Params): Promise<Row[]>;
  get(sql: string, params?: Params): Promise<Row | undefined>;
  /** How many rows the statement changed. */
  run(sql: string, params?: Params): Promise<number>;
  /** Runs fn in a transaction of its own, or inside the one already open (a savepoint in SQLite). */
  write<T>(fn: () => Promise<T>): Promise<T>;
  /** Loaded on first use: the master key file is only created when a secret is stored. */
  secrets(): SecretBox;
  readonly idempotencyTtlMs: number;
}

/** Runs a check-then-write as the dialect keeps it atomic (see Dialect.checkThenWrite). */
export function checkThenWrite<T>(ctx: SqlCtx, fn: () => Promise<T>): Promise<T> {
  return ctx.dialect.checkThenWrite === 'transaction' ? ctx.write(fn) : fn();
}
