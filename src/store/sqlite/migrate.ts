/**
 * Applies the schema steps not yet recorded in schema_migrations, all in one IMMEDIATE
 * transaction: a crash (or a failing step) leaves the previous schema intact, and two processes
 * opening the file at once do not both migrate (the second waits, then finds nothing to do).
 * A schema with steps this program does not know (a newer Cubby wrote it) is refused.
 */
import type Database from 'better-sqlite3';
import { CubbyError } from '../../errors/index.js';
import { checkStepNumbers, type MigrateReport, type Migration, refuseUnknownSteps } from '../migration.js';

export type { MigrateReport };

export function migrate(db: Database.Database, steps: readonly Migration[], now: () => Date = () => new Date()): MigrateReport {
  checkStepNumbers(steps);
  const ids = steps.map((s) => s.id);
  const read = (): Set<number> => {
    const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get();
    const done = new Set(exists ? (db.prepare('SELECT id FROM schema_migrations').all() as Array<{ id: number }>).map((r) => r.id) : []);
    refuseUnknownSteps(done, steps);
    return done;
  };
  const run = db.transaction((): MigrateReport => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const done = read(); // again, under the lock: another process may have just migrated
    const applied: number[] = [];
    const record = db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)');
    for (const step of steps) {
      if (done.has(step.id)) continue;
      db.exec(step.sql);
      record.run(step.id, step.name, now().getTime());
      applied.push(step.id);
    }
    return { applied, current: steps.length };
  });
  try {
    // Up to date (the usual case): no write lock taken, so opening never waits for another writer.
    const done = read();
    if (ids.every((id) => done.has(id))) return { applied: [], current: steps.length };
    return run.immediate();
  } catch (e) {
    if (e instanceof CubbyError) throw e;
    throw new CubbyError('STORE_MIGRATION_FAILED', `schema migration failed: ${(e as Error).message}`, { cause: e });
  }
}
