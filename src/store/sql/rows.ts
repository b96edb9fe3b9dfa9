/** Statement shapes several record types share: listing by state, patching by key. */
import { type Codec, patchAssignments, type Row, stamped } from '../codec.js';
import type { SqlCtx } from './context.js';

/** Every row of `table` whose state is one of `states`, in `order`. */
export async function rowsInState(ctx: SqlCtx, table: string, states: readonly string[], order: string): Promise<Row[]> {
  if (states.length === 0) return [];
  const inState = ctx.dialect.inList('state', states);
  return ctx.all(`SELECT * FROM ${table} WHERE ${inState.sql} ORDER BY ${order}`, inState.params);
}

/** What patchRow takes: the table, its codec, the patchable fields, the patch, and the row's WHERE clause. */
type PatchArgs<T> = [
  ctx: SqlCtx,
  table: string,
  codec: Codec<T>,
  allowed: ReadonlySet<string>,
  patch: { updatedAt?: Date | null },
  where: string,
  whereParams: readonly unknown[],
];

/**
 * Applies a patch (stamped with updatedAt unless it sets it) to the row `where` selects: the
 * row as updated, or undefined when there is none.
 */
export function patchRow<T>(...[ctx, table, codec, allowed, patch, where, whereParams]: PatchArgs<T>): Promise<Row | undefined> {
  const { sets, values } = patchAssignments(codec, stamped(ctx, patch), allowed);
  return ctx.get(`UPDATE ${table} SET ${sets.join(', ')} WHERE ${where} RETURNING *`, [...values, ...whereParams]);
}

/** patchRow for a row that must exist: `missing()` is thrown when it does not. */
export async function patchExisting<T>(...args: [...PatchArgs<T>, missing: () => Error]): Promise<Row> {
  const missing = args[7];
  const r = await patchRow(...(args.slice(0, 7) as PatchArgs<T>));
  if (!r) throw missing();
  return r;
}
