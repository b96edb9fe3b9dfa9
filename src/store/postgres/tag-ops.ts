/** Tags, keyed by (tenant, kind, resource id): another tenant's tags are out of reach by construction. */
import type { Ctx, Ops } from './context.js';

type TagOps = Pick<Ops, 'setTags' | 'unsetTags' | 'listTags'>;

export function tagOps(ctx: Ctx): TagOps {
  return {
    async setTags(tenantId, kind, resourceId, tags) {
      const entries = Object.entries(tags);
      if (entries.length === 0) return;
      // One statement for every key: atomic without a transaction of its own.
      await ctx.run(`INSERT INTO tags (tenant_id, kind, resource_id, tag_key, tag_value)
        SELECT ?::text, ?::text, ?::text, k, v FROM unnest(?::text[], ?::text[]) AS x(k, v)
        ON CONFLICT (tenant_id, kind, resource_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value`,
      tenantId, kind, resourceId, entries.map(([k]) => k), entries.map(([, v]) => v));
    },
    async unsetTags(tenantId, kind, resourceId, keys) {
      if (keys.length === 0) return;
      await ctx.run('DELETE FROM tags WHERE tenant_id = ? AND kind = ? AND resource_id = ? AND tag_key = ANY(?::text[])',
        tenantId, kind, resourceId, keys);
    },
    async listTags(tenantId, kind, resourceId) {
      const rows = await ctx.all('SELECT tag_key, tag_value FROM tags WHERE tenant_id = ? AND kind = ? AND resource_id = ? ORDER BY tag_key',
        tenantId, kind, resourceId);
      return Object.fromEntries(rows.map((r) => [r.tag_key as string, r.tag_value as string]));
    },
  };
}
