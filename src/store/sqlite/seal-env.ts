/**
 * On open: seals image environment variables still stored in clear text (rows written before
 * sealing existed; see sealed-env.ts). Each row is rewritten only if it is still the one read, so
 * two processes opening at once do no harm. secure_delete zeroes the clear bytes the rewrite frees,
 * and the WAL is truncated afterwards so no old page copy lingers there either. A database locked
 * by another writer is left for the next open: clear rows stay readable meanwhile.
 */
import { isCubbyError } from '../../errors/index.js';
import type { ImageSettings } from '../../core/model.js';
import { environmentAad, hasClearEnvironment, sealSettings } from '../sealed-env.js';
import type { Ctx } from './context.js';
import { mapSqliteError } from './database.js';

/** How many rows were sealed. */
export function sealClearEnvironments(ctx: Ctx): number {
  const rows = ctx.db.prepare(`SELECT tenant_id, image_id, version, settings FROM image_versions
    WHERE json_type(settings, '$.environment') = 'object' AND json_extract(settings, '$.environment') <> '{}'`)
    .all() as Array<{ tenant_id: string; image_id: string; version: string; settings: string }>;
  const clear = rows.filter((r) => hasClearEnvironment(JSON.parse(r.settings) as ImageSettings));
  if (clear.length === 0) return 0;
  const box = ctx.secrets();
  const previous = ctx.db.pragma('secure_delete', { simple: true }) as number;
  ctx.db.pragma('secure_delete = ON');
  try {
    const sealed = ctx.write(() => {
      let n = 0;
      const update = ctx.db.prepare(`UPDATE image_versions SET settings = ?
        WHERE tenant_id = ? AND image_id = ? AND version = ? AND settings = ?`);
      for (const r of clear) {
        const settings = sealSettings(JSON.parse(r.settings) as ImageSettings, environmentAad(r.tenant_id, r.image_id, r.version), () => box);
        n += update.run(JSON.stringify(settings), r.tenant_id, r.image_id, r.version, r.settings).changes;
      }
      return n;
    });
    ctx.db.pragma('wal_checkpoint(TRUNCATE)');
    return sealed;
  } catch (e) {
    const err = mapSqliteError(e);
    if (isCubbyError(err, 'STORE_BUSY')) return 0;
    throw err;
  } finally {
    ctx.db.pragma(`secure_delete = ${previous ? 'ON' : 'OFF'}`);
  }
}
