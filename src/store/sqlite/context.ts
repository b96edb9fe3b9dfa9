/** What the synchronous operation modules share: the connection, the clock, the secret box. */
import type Database from 'better-sqlite3';
import type { Page } from '../../core/model.js';
import type { StoreOps } from '../../core/ports/store.js';
import { encodePageToken } from '../page-token.js';
import type { SecretBox } from '../secret-box.js';
import type { Row } from './codec.js';

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

/** Rows fetched with LIMIT size + 1 become a page, with a token when the extra row exists. */
export function toPage<T>(
  rows: Row[], size: number, map: (r: Row) => T, position: (r: Row) => number[], list: string, scope: unknown,
): Page<T> {
  const kept = rows.slice(0, size);
  const last = kept[kept.length - 1];
  const page: Page<T> = { items: kept.map(map) };
  if (rows.length > size && last) page.nextToken = encodePageToken(list, scope, position(last));
  return page;
}

/** Patches stamp updatedAt with the store's clock unless they set (or clear) it themselves. */
export function stamped<P extends { updatedAt?: Date | null }>(ctx: Ctx, patch: P): P {
  return patch.updatedAt === undefined ? { ...patch, updatedAt: ctx.now() } : patch;
}
