/** Tags, keyed by (tenant, kind, resource id): another tenant's tags are out of reach by construction. */
import type { SyncOps, Ctx } from './context.js';

type TagOps = Pick<SyncOps, 'setTags' | 'unsetTags' | 'listTags'>;

export function tagOps(ctx: Ctx): TagOps {
  return {
    setTags(tenantId, kind, resourceId, tags) {
      ctx.write(() => {
        const upsert = ctx.q(`INSERT INTO tags (tenant_id, kind, resource_id, tag_key, tag_value) VALUES (?, ?, ?, ?, ?)
          ON CONFLICT (tenant_id, kind, resource_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value`);
        for (const [k, v] of Object.entries(tags)) upsert.run(tenantId, kind, resourceId, k, v);
      });
    },
    unsetTags(tenantId, kind, resourceId, keys) {
      ctx.write(() => {
        const del = ctx.q('DELETE FROM tags WHERE tenant_id = ? AND kind = ? AND resource_id = ? AND tag_key = ?');
        for (const k of keys) del.run(tenantId, kind, resourceId, k);
      });
    },
    listTags(tenantId, kind, resourceId) {
      const rows = ctx.q('SELECT tag_key, tag_value FROM tags WHERE tenant_id = ? AND kind = ? AND resource_id = ? ORDER BY tag_key')
        .all(tenantId, kind, resourceId);
      return Object.fromEntries(rows.map((r) => [r.tag_key as string, r.tag_value as string]));
    },
  };
}
