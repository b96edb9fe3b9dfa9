/** Tags, keyed by (tenant, kind, resource id): another tenant's tags are out of reach by construction. */
import type { StoreOps } from '../../core/ports/store.js';
import type { SqlCtx } from './context.js';

type TagOps = Pick<StoreOps, 'setTags' | 'unsetTags' | 'listTags'>;

export function tagOps(ctx: SqlCtx): TagOps {
  return {
    async setTags(tenantId, kind, resourceId, tags) {
      const entries = Object.entries(tags);
      if (entries.length === 0) return;
      // One statement for every key (keys of an object are distinct): atomic without a transaction of its own.
      await ctx.run(
        `INSERT INTO tags (tenant_id, kind, resource_id, tag_key, tag_value)
        VALUES ${entries.map(() => '(?, ?, ?, ?, ?)').join(', ')}
        ON CONFLICT (tenant_id, kind, resource_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value`,
        entries.flatMap(([k, v]) => [tenantId, kind, resourceId, k, v]),
      );
    },
    async unsetTags(tenantId, kind, resourceId, keys) {
      if (keys.length === 0) return;
      const inKeys = ctx.dialect.inList('tag_key', keys);
      await ctx.run(`DELETE FROM tags WHERE tenant_id = ? AND kind = ? AND resource_id = ? AND ${inKeys.sql}`, [
        tenantId,
        kind,
        resourceId,
        ...inKeys.params,
      ]);
    },
    async listTags(tenantId, kind, resourceId) {
      const rows = await ctx.all(
        'SELECT tag_key, tag_value FROM tags WHERE tenant_id = ? AND kind = ? AND resource_id = ? ORDER BY tag_key',
        [tenantId, kind, resourceId],
      );
      return Object.fromEntries(rows.map((r) => [r.tag_key as string, r.tag_value as string]));
    },
  };
}
