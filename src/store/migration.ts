/** Rules every store's schema migration follows: steps numbered 1..n, a newer schema refused. */
import { CubbyError } from '../errors/index.js';

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export interface MigrateReport {
  applied: number[];
  current: number;
}

export function checkStepNumbers(steps: readonly Migration[]): void {
  if (steps.some((s, i) => !Number.isInteger(s.id) || s.id !== i + 1)) {
    throw new CubbyError('STORE_MIGRATION_FAILED', 'migration steps must be numbered 1, 2, 3, ... in order');
  }
}

/** Refuses a schema holding steps this program does not know (a newer Cubby wrote it). */
export function refuseUnknownSteps(done: Iterable<number>, steps: readonly Migration[]): void {
  const known = new Set(steps.map((s) => s.id));
  const unknown = [...done].filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new CubbyError(
      'STORE_MIGRATION_FAILED',
      `database schema is newer than this program (unknown steps ${unknown.join(', ')}): upgrade Cubby`,
    );
  }
}
