/**
 * On open: seals image environment variables still stored in clear text (rows written before
 * sealing existed; see sealed-env.ts). Each row is rewritten only if it is still the one read, so
 * two processes opening at once do no harm. A row lock held too long (STORE_BUSY) leaves the
 * rest for the next open: clear rows stay readable meanwhile.
 */
import { isCubbyError } from '../../errors/index.js';
import type { ImageSettings } from '../../core/model.js';
import { environmentAad, hasClearEnvironment, sealSettings } from '../sealed-env.js';
import type { Ctx } from './context.js';
import { mapPgError } from './errors.js';

/** How many rows were sealed. */
export async function sealClearEnvironments(ctx: Ctx): Promise<number> {
  // A schema without the table (a test's own steps) has nothing to seal.
  if (!(await ctx.one(`SELECT to_regclass('image_versions') AS t`))?.t) return 0;
  const rows = await ctx.all(`SELECT tenant_id, image_id, version, settings FROM image_versions
    WHERE jsonb_typeof(settings -> 'environment') = 'object' AND settings -> 'environment' <> '{}'::jsonb`);
  const clear = rows.filter((r) => hasClearEnvironment(JSON.parse(r.settings as string) as ImageSettings));
  if (clear.length === 0) return 0;
  const box = ctx.secrets();
  let sealed = 0;
  try {
    for (const r of clear) {
      const aad = environmentAad(r.tenant_id as string, r.image_id as string, r.version as string);
      const settings = sealSettings(JSON.parse(r.settings as string) as ImageSettings, aad, () => box);
      sealed += await ctx.run(`UPDATE image_versions SET settings = ?::jsonb
        WHERE tenant_id = ? AND image_id = ? AND version = ? AND settings = ?::jsonb`,
      JSON.stringify(settings), r.tenant_id, r.image_id, r.version, r.settings);
    }
  } catch (e) {
    const err = mapPgError(e);
    if (!isCubbyError(err, 'STORE_BUSY')) throw err;
  }
  return sealed;
}
