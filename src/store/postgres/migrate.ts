/**
 * Applies the schema steps not yet recorded in schema_migrations, all in one transaction that
 * first takes a transaction-scoped advisory lock: two daemons (or a daemon and the operator CLI)
 * starting at once do not both migrate; the second waits, then finds nothing to do. A failing
 * step rolls everything back. A schema with steps this program does not know is refused.
 */
import type pg from 'pg';
import { CubbyError } from '../../errors/index.js';
import { checkStepNumbers, type MigrateReport, type Migration, refuseUnknownSteps } from '../migration.js';

/** Any constant works: advisory locks are per database. This one spells "cubbymig". */
export const MIGRATION_LOCK_KEY = '7166742557113543015';

export async function migrate(
  client: pg.ClientBase,
  steps: readonly Migration[],
  now: () => Date = () => new Date(),
): Promise<MigrateReport> {
  checkStepNumbers(steps);
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
      const done = new Set((await client.query<{ id: number }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
      refuseUnknownSteps(done, steps);
      const applied: number[] = [];
      for (const step of steps) {
        if (done.has(step.id)) continue;
        await client.query(step.sql);
        await client.query('INSERT INTO schema_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [
          step.id,
          step.name,
          now().getTime(),
        ]);
        applied.push(step.id);
      }
      await client.query('COMMIT');
      return { applied, current: steps.length };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  } catch (e) {
    if (e instanceof CubbyError) throw e;
    throw new CubbyError('STORE_MIGRATION_FAILED', `schema migration failed: ${(e as Error).message}`, { cause: e });
  }
}
