/**
 * The store contract: every implementation of the store port (SQLite today, PostgreSQL later)
 * must pass it. An implementation's runner calls runStoreContract with a factory of fresh stores.
 */
import { describe } from 'node:test';
import { concurrencyTests } from './contract/concurrency.js';
import { e2bKeyTests } from './contract/e2b-keys.js';
import { imageTests } from './contract/images.js';
import { microvmTests } from './contract/microvms.js';
import { paginationTests } from './contract/pagination.js';
import { quotaTests } from './contract/quotas.js';
import { roleTests } from './contract/roles.js';
import { scopingTests } from './contract/scoping.js';
import { sealedEnvTests } from './contract/sealed-env.js';
import { idempotencyTests, tagTests } from './contract/tags-idempotency.js';
import { tenantTests } from './contract/tenants.js';
import { transactionTests } from './contract/transactions.js';
import type { MakeStore } from './contract/harness.js';

export type { MakeStore, StoreHarness } from './contract/harness.js';

export function runStoreContract(name: string, makeStore: MakeStore): void {
  describe(`store contract: ${name}`, () => {
    tenantTests(makeStore);
    scopingTests(makeStore);
    paginationTests(makeStore);
    imageTests(makeStore);
    sealedEnvTests(makeStore);
    microvmTests(makeStore);
    tagTests(makeStore);
    idempotencyTests(makeStore);
    transactionTests(makeStore);
    concurrencyTests(makeStore);
    quotaTests(makeStore);
    e2bKeyTests(makeStore);
    roleTests(makeStore);
  });
}
