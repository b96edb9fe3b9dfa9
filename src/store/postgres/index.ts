export { openPostgresStore, IDEMPOTENCY_TTL_MS, type PostgresStore, type PostgresStoreOptions } from './pg-store.js';
export { MIGRATIONS } from './migrations.js';
export { migrate, MIGRATION_LOCK_KEY } from './migrate.js';
export { mapPgError } from './errors.js';
