/** What the synchronous operation modules share: the connection, the clock, the secret box. */
import type Database from 'better-sqlite3';
import type { StoreOps } from '../../core/ports/store.js';
import type { SecretBox } from '../secret-box.js';
import type { Row } from '../codec.js';

/** The port's data methods, synchronous: what the operation modules implement. */
export type SyncOps = {
  [K in keyof StoreOps]: StoreOps[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : never;
};

export interface Ctx {
  readonly db: Database.Database;
  now(): Date;
  /** A prepared statement, cached by its text. */
  q(sql: string): Database.Statement<unknown[], Row>;
  /** Runs fn in an IMMEDIATE transaction, or a savepoint inside an open one. */
  write<T>(fn: () => T): T;
  /** Loaded on first use: the master key file is only created when a secret is stored. */
  secrets(): SecretBox;
  readonly idempotencyTtlMs: number;
}

/** "?, ?, ?" for an IN list. */
export const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
