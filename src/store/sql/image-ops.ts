/** Images: named per tenant; deleting one takes its versions, builds and tags with it. */
import type { Image } from '../../core/model.js';
import type { StoreOps } from '../../core/ports/store.js';
import { CubbyError } from '../../errors/index.js';
import { fromRow, insertSql, type Row, toColumns } from '../codec.js';
import { newImageId } from '../ids.js';
import { imageNotFound, tenantNotFound } from '../not-found.js';
import { decodePageToken, pageSize } from '../page-token.js';
import { toPage } from '../paging.js';
import { IMAGE, IMAGE_PATCHABLE } from '../records.js';
import { checkThenWrite, type SqlCtx } from './context.js';
import { patchExisting, rowsInState } from './rows.js';

type ImageOps = Pick<
  StoreOps,
  'insertImage' | 'getImage' | 'getImageByName' | 'listImages' | 'listImagesByState' | 'updateImage' | 'deleteImage'
>;

export function imageOps(ctx: SqlCtx): ImageOps {
  const image = (r: Row): Image => fromRow(IMAGE, r);
  const d = ctx.dialect;

  return {
    async insertImage(input) {
      const rec: Image = { ...input, id: input.id ?? newImageId(), createdAt: input.createdAt ?? ctx.now() };
      if (typeof rec.name !== 'string' || rec.name.length === 0) throw new CubbyError('CUBBY_VALIDATION', 'image name is required');
      return checkThenWrite(ctx, async () => {
        // Tenants are never deleted; a name or id taken by a racing writer is a unique violation
        // (IMAGE_EXISTS, STORE_CONFLICT), as is an id already taken.
        if (!(await ctx.get('SELECT 1 FROM tenants WHERE id = ?', [rec.tenantId]))) throw tenantNotFound(rec.tenantId);
        if (await ctx.get('SELECT 1 FROM images WHERE tenant_id = ? AND name = ?', [rec.tenantId, rec.name])) {
          throw new CubbyError('IMAGE_EXISTS', `image ${rec.name} already exists`, { details: { name: rec.name } });
        }
        const { columns, values } = toColumns(IMAGE, rec);
        return image((await ctx.get(`${insertSql('images', columns)} RETURNING *`, values)) as Row);
      });
    },
    async getImage(tenantId, id) {
      const r = await ctx.get('SELECT * FROM images WHERE tenant_id = ? AND id = ?', [tenantId, id]);
      return r ? image(r) : undefined;
    },
    async getImageByName(tenantId, name) {
      const r = await ctx.get('SELECT * FROM images WHERE tenant_id = ? AND name = ?', [tenantId, name]);
      return r ? image(r) : undefined;
    },
    async listImages(tenantId, req = {}) {
      const size = pageSize(req.maxResults);
      const filter = req.nameFilter ?? '';
      const scope = { tenantId, filter };
      const [after] = decodePageToken(req.nextToken, 'images', scope, 1) ?? [0];
      const named = filter === '' ? '' : ` AND ${d.contains('name')}`;
      const rows = await ctx.all(
        `SELECT * FROM images WHERE tenant_id = ? AND seq > ?${named} ORDER BY seq LIMIT ?`,
        filter === '' ? [tenantId, after, size + 1] : [tenantId, after, filter, size + 1],
      );
      return toPage(rows, size, image, (r) => [r.seq as number], 'images', scope);
    },
    listImagesByState: async (states) => (await rowsInState(ctx, 'images', states, 'seq')).map(image),
    updateImage: async (tenantId, id, patch) =>
      image(
        await patchExisting(ctx, 'images', IMAGE, IMAGE_PATCHABLE, patch, 'tenant_id = ? AND id = ?', [tenantId, id], () =>
          imageNotFound(id),
        ),
      ),
    async deleteImage(tenantId, id) {
      await ctx.write(async () => {
        // Versions and builds follow through ON DELETE CASCADE; tags have no foreign key (any kind of resource).
        if ((await ctx.run('DELETE FROM images WHERE tenant_id = ? AND id = ?', [tenantId, id])) === 0) throw imageNotFound(id);
        await ctx.run(`DELETE FROM tags WHERE tenant_id = ? AND kind = 'image' AND resource_id = ?`, [tenantId, id]);
      });
    },
  };
}
