/** Images: named per tenant; deleting one takes its versions, builds and tags with it. */
import type { Image } from '../../core/model.js';
import { CubbyError } from '../../errors/index.js';
import { fromRow, insertSql, patchAssignments, type Row, stamped, toColumns } from '../codec.js';
import { newImageId } from '../ids.js';
import { imageNotFound, tenantNotFound } from '../not-found.js';
import { decodePageToken, pageSize } from '../page-token.js';
import { toPage } from '../paging.js';
import { IMAGE, IMAGE_PATCHABLE } from '../records.js';
import type { Ctx, Ops } from './context.js';

type ImageOps = Pick<Ops, 'insertImage' | 'getImage' | 'getImageByName' | 'listImages' | 'listImagesByState'
  | 'updateImage' | 'deleteImage'>;

export function imageOps(ctx: Ctx): ImageOps {
  const image = (r: Row): Image => fromRow(IMAGE, r);
  const get = (tenantId: string, id: string): Promise<Row | undefined> =>
    ctx.one('SELECT * FROM images WHERE tenant_id = ? AND id = ?', tenantId, id);

  return {
    async insertImage(input) {
      const rec: Image = { ...input, id: input.id ?? newImageId(), createdAt: input.createdAt ?? ctx.now() };
      if (typeof rec.name !== 'string' || rec.name.length === 0) throw new CubbyError('CUBBY_VALIDATION', 'image name is required');
      // Tenants are never deleted; a name or id taken meanwhile is a unique violation (IMAGE_EXISTS, STORE_CONFLICT).
      if (!(await ctx.one('SELECT 1 FROM tenants WHERE id = ?', rec.tenantId))) throw tenantNotFound(rec.tenantId);
      if (await ctx.one('SELECT 1 FROM images WHERE tenant_id = ? AND name = ?', rec.tenantId, rec.name)) {
        throw new CubbyError('IMAGE_EXISTS', `image ${rec.name} already exists`, { details: { name: rec.name } });
      }
      const { columns, values } = toColumns(IMAGE, rec);
      const r = await ctx.one(`${insertSql('images', columns)} RETURNING *`, ...values);
      return image(r as Row);
    },
    async getImage(tenantId, id) {
      const r = await get(tenantId, id);
      return r ? image(r) : undefined;
    },
    async getImageByName(tenantId, name) {
      const r = await ctx.one('SELECT * FROM images WHERE tenant_id = ? AND name = ?', tenantId, name);
      return r ? image(r) : undefined;
    },
    async listImages(tenantId, req = {}) {
      const size = pageSize(req.maxResults);
      const filter = req.nameFilter ?? '';
      const scope = { tenantId, filter };
      const [after] = decodePageToken(req.nextToken, 'images', scope, 1) ?? [0];
      // strpos: a case-sensitive substring with no LIKE wildcards to escape.
      const rows = await ctx.all(`SELECT * FROM images WHERE tenant_id = ? AND seq > ? AND (?::text = '' OR strpos(name, ?::text) > 0)
        ORDER BY seq LIMIT ?`, tenantId, after, filter, filter, size + 1);
      return toPage(rows, size, image, (r) => [r.seq as number], 'images', scope);
    },
    async listImagesByState(states) {
      if (states.length === 0) return [];
      return (await ctx.all('SELECT * FROM images WHERE state = ANY(?) ORDER BY seq', states)).map(image);
    },
    async updateImage(tenantId, id, patch) {
      const { sets, values } = patchAssignments(IMAGE, stamped(ctx, patch), IMAGE_PATCHABLE);
      const r = await ctx.one(`UPDATE images SET ${sets.join(', ')} WHERE tenant_id = ? AND id = ? RETURNING *`, ...values, tenantId, id);
      if (!r) throw imageNotFound(id);
      return image(r);
    },
    async deleteImage(tenantId, id) {
      await ctx.write(async () => {
        // Versions and builds follow through ON DELETE CASCADE; tags have no foreign key (any kind of resource).
        if ((await ctx.run('DELETE FROM images WHERE tenant_id = ? AND id = ?', tenantId, id)) === 0) throw imageNotFound(id);
        await ctx.run(`DELETE FROM tags WHERE tenant_id = ? AND kind = 'image' AND resource_id = ?`, tenantId, id);
      });
    },
  };
}
