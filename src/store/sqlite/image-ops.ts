/** Images: named per tenant; deleting one takes its versions, builds and tags with it. */
import type { Image } from '../../core/model.js';
import { CubbyError } from '../../errors/index.js';
import { newImageId } from '../ids.js';
import { decodePageToken, pageSize } from '../page-token.js';
import { fromRow, insertSql, patchAssignments, type Row, stamped, toColumns } from '../codec.js';
import { imageNotFound, tenantNotFound } from '../not-found.js';
import { toPage } from '../paging.js';
import { IMAGE, IMAGE_PATCHABLE } from '../records.js';
import { type Ctx, marks, type SyncOps } from './context.js';

type ImageOps = Pick<SyncOps, 'insertImage' | 'getImage' | 'getImageByName' | 'listImages' | 'listImagesByState'
  | 'updateImage' | 'deleteImage'>;

export function imageOps(ctx: Ctx): ImageOps {
  const image = (r: Row): Image => fromRow(IMAGE, r);
  const get = (tenantId: string, id: string): Row | undefined =>
    ctx.q('SELECT * FROM images WHERE tenant_id = ? AND id = ?').get(tenantId, id);

  return {
    insertImage(input) {
      const rec: Image = { ...input, id: input.id ?? newImageId(), createdAt: input.createdAt ?? ctx.now() };
      if (typeof rec.name !== 'string' || rec.name.length === 0) throw new CubbyError('CUBBY_VALIDATION', 'image name is required');
      return ctx.write(() => {
        if (!ctx.q('SELECT 1 FROM tenants WHERE id = ?').get(rec.tenantId)) {
          throw tenantNotFound(rec.tenantId);
        }
        if (ctx.q('SELECT 1 FROM images WHERE tenant_id = ? AND name = ?').get(rec.tenantId, rec.name)) {
          throw new CubbyError('IMAGE_EXISTS', `image ${rec.name} already exists`, { details: { name: rec.name } });
        }
        if (ctx.q('SELECT 1 FROM images WHERE id = ?').get(rec.id)) {
          throw new CubbyError('STORE_CONFLICT', `image id ${rec.id} already exists`);
        }
        const { columns, values } = toColumns(IMAGE, rec);
        ctx.q(insertSql('images', columns)).run(...values);
        return image(get(rec.tenantId, rec.id) as Row);
      });
    },
    getImage(tenantId, id) {
      const r = get(tenantId, id);
      return r ? image(r) : undefined;
    },
    getImageByName(tenantId, name) {
      const r = ctx.q('SELECT * FROM images WHERE tenant_id = ? AND name = ?').get(tenantId, name);
      return r ? image(r) : undefined;
    },
    listImages(tenantId, req = {}) {
      const size = pageSize(req.maxResults);
      const filter = req.nameFilter ?? '';
      const scope = { tenantId, filter };
      const [after] = decodePageToken(req.nextToken, 'images', scope, 1) ?? [0];
      // instr: case-sensitive substring, unlike SQLite's LIKE (PostgreSQL: strpos).
      const rows = ctx.q(`SELECT * FROM images WHERE tenant_id = ? AND seq > ? AND (? = '' OR instr(name, ?) > 0)
        ORDER BY seq LIMIT ?`).all(tenantId, after, filter, filter, size + 1);
      return toPage(rows, size, image, (r) => [r.seq as number], 'images', scope);
    },
    listImagesByState(states) {
      if (states.length === 0) return [];
      return ctx.q(`SELECT * FROM images WHERE state IN (${marks(states.length)}) ORDER BY seq`).all(...states).map(image);
    },
    updateImage(tenantId, id, patch) {
      const { sets, values } = patchAssignments(IMAGE, stamped(ctx, patch), IMAGE_PATCHABLE);
      const r = ctx.q(`UPDATE images SET ${sets.join(', ')} WHERE tenant_id = ? AND id = ? RETURNING *`).get(...values, tenantId, id);
      if (!r) throw imageNotFound(id);
      return image(r);
    },
    deleteImage(tenantId, id) {
      ctx.write(() => {
        // Versions and builds follow through ON DELETE CASCADE; tags have no foreign key (any kind of resource).
        if (ctx.q('DELETE FROM images WHERE tenant_id = ? AND id = ?').run(tenantId, id).changes === 0) throw imageNotFound(id);
        ctx.q(`DELETE FROM tags WHERE tenant_id = ? AND kind = 'image' AND resource_id = ?`).run(tenantId, id);
      });
    },
  };
}
