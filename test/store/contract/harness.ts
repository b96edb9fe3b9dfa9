/** What an implementation's runner hands the store contract, and helpers shared by its sections. */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Store } from '../../../src/core/ports/store.js';
import type { ErrorCode } from '../../../src/errors/index.js';
import { isCubbyError } from '../../../src/errors/index.js';

export interface StoreHarness {
  store: Store;
  /** Closes every handle still open and removes the data. */
  cleanup(): Promise<void>;
  /** Another handle on the same data, as a second process would open it (the caller closes it). */
  reopen?(): Promise<Store>;
  /** Every byte the implementation keeps at rest, for the secret-at-rest check. */
  rawBytes?(): Promise<Buffer>;
  /** One SQL statement straight on the database, past the store (`?` parameters): its rows. */
  rawQuery?(sql: string, ...params: unknown[]): Promise<Array<Record<string, unknown>>>;
  /** Moves the store's clock forward (idempotency expiry). */
  advanceClock?(ms: number): void;
}

export type MakeStore = () => Promise<StoreHarness>;

/** A fresh store for one test, removed after it whatever happens. */
export async function fresh(t: TestContext, make: MakeStore): Promise<StoreHarness> {
  const h = await make();
  t.after(() => h.cleanup());
  return h;
}

export async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isCubbyError(e), `expected CubbyError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return true;
  });
}
