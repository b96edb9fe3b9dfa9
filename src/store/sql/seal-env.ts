/**
 * On open: seals image environment variables still stored in clear text (rows written before
 * sealing existed; see ../sealed-env.ts), all in one write. Each row is rewritten only if it is
 * still the one read, so two processes opening at once do no harm. A database busy past its
 * timeout (STORE_BUSY) leaves the rows for the next open: clear rows stay readable meanwhile.
 * The SQLite store wraps this in secure_delete and a WAL truncation (sqlite-store.ts).
 */
import type { ImageSettings } from '../../core/model.js';
import { isCubbyError } from '../../errors/index.js';
import { environmentAad, hasClearEnvironment, sealSettings } from '../sealed-env.js';
import type { SqlCtx } from './context.js';

/** How many rows were sealed. */
export async function sealClearEnvironments(ctx: SqlCtx): Promise<number> {
  const d = ctx.dialect;
  // A schema without the table (a test's own migration steps) has nothing to seal.
  if (!(await ctx.get(d.tableExists, ['image_versions']))) return 0;
  const rows = await ctx.all(`SELECT tenant_id, image_id, version, settings FROM image_versions
    WHERE ${d.jsonNonEmptyObject('settings', 'environment')}`);
  const clear = rows.filter((r) => hasClearEnvironment(JSON.parse(r.settings as string) as ImageSettings));
  if (clear.length === 0) return 0;
  const box = ctx.secrets();
  try {
    return await ctx.write(async () => {
      let sealed = 0;
      for (const r of clear) {
        const aad = environmentAad(r.tenant_id as string, r.image_id as string, r.version as string);
        const settings = sealSettings(JSON.parse(r.settings as string) as ImageSettings, aad, () => box);
        sealed += await ctx.run(
          `UPDATE image_versions SET settings = ?
          WHERE tenant_id = ? AND image_id = ? AND version = ? AND settings = ?`,
          [JSON.stringify(settings), r.tenant_id, r.image_id, r.version, r.settings],
        );
      }
      return sealed;
    });
  } catch (e) {
    const err = d.mapError(e);
    if (isCubbyError(err, 'STORE_BUSY')) return 0;
    throw err;
  }
}
