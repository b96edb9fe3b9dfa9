/** What the PostgreSQL operation modules share: statements on the right connection, the clock, the secret box. */
import type { StoreOps } from '../../core/ports/store.js';
import type { Row } from '../codec.js';
import type { SecretBox } from '../secret-box.js';

export interface Ctx {
  now(): Date;
  /**
   * Rows of one statement, run on the open transaction's connection if this async context has
   * one, else on any pooled connection. Parameters are written `?` (numbered for PostgreSQL).
   */
  all(sql: string, ...args: unknown[]): Promise<Row[]>;
  one(sql: string, ...args: unknown[]): Promise<Row | undefined>;
  /** How many rows the statement changed. */
  run(sql: string, ...args: unknown[]): Promise<number>;
  /** Runs fn in a transaction of its own, or as part of the one already open. */
  write<T>(fn: () => Promise<T>): Promise<T>;
  /** Loaded on first use: the master key file is only created when a secret is stored. */
  secrets(): SecretBox;
  readonly idempotencyTtlMs: number;
}

export type Ops = StoreOps;

/** `?` placeholders as PostgreSQL's $1, $2, ... (our statements hold no other `?`). */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
