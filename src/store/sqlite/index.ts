export { openSqliteStore, IDEMPOTENCY_TTL_MS, type SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { DB_FILE } from './database.js';
export { MIGRATIONS, type Migration } from './migrations.js';
export { migrate, type MigrateReport } from './migrate.js';
