/** Image builds: each belongs to one version and goes with it. */
import type { ImageBuild } from '../../core/model.js';
import { CubbyError } from '../../errors/index.js';
import { newBuildId } from '../ids.js';
import { decodePageToken, pageSize } from '../page-token.js';
import { fromRow, insertSql, patchAssignments, type Row, stamped, toColumns } from '../codec.js';
import { buildNotFound, versionNotFound } from '../not-found.js';
import { toPage } from '../paging.js';
import { BUILD_PATCHABLE, IMAGE_BUILD } from '../records.js';
import { type Ctx, marks, type SyncOps } from './context.js';

type BuildOps = Pick<SyncOps, 'insertBuild' | 'getBuild' | 'listBuilds' | 'listBuildsByState' | 'updateBuild'>;

export function buildOps(ctx: Ctx): BuildOps {
  const build = (r: Row): ImageBuild => fromRow(IMAGE_BUILD, r);
  const get = (tenantId: string, id: string): Row | undefined =>
    ctx.q('SELECT * FROM image_builds WHERE tenant_id = ? AND id = ?').get(tenantId, id);

  return {
    insertBuild(input) {
      const rec: ImageBuild = { ...input, id: input.id ?? newBuildId(), createdAt: input.createdAt ?? ctx.now() };
      return ctx.write(() => {
        if (!ctx.q('SELECT 1 FROM image_versions WHERE tenant_id = ? AND image_id = ? AND version = ?').get(rec.tenantId, rec.imageId, rec.version)) {
          throw versionNotFound(rec.imageId, rec.version);
        }
        if (ctx.q('SELECT 1 FROM image_builds WHERE id = ?').get(rec.id)) {
          throw new CubbyError('STORE_CONFLICT', `build id ${rec.id} already exists`);
        }
        const { columns, values } = toColumns(IMAGE_BUILD, rec);
        ctx.q(insertSql('image_builds', columns)).run(...values);
        return build(get(rec.tenantId, rec.id) as Row);
      });
    },
    getBuild(tenantId, id) {
      const r = get(tenantId, id);
      return r ? build(r) : undefined;
    },
    listBuilds(tenantId, imageId, version, req = {}) {
      const size = pageSize(req.maxResults);
      const scope = { tenantId, imageId, version };
      const [after] = decodePageToken(req.nextToken, 'builds', scope, 1) ?? [0];
      const rows = ctx.q(`SELECT * FROM image_builds WHERE tenant_id = ? AND image_id = ? AND version = ? AND seq > ?
        ORDER BY seq LIMIT ?`).all(tenantId, imageId, version, after, size + 1);
      return toPage(rows, size, build, (r) => [r.seq as number], 'builds', scope);
    },
    listBuildsByState(states) {
      if (states.length === 0) return [];
      return ctx.q(`SELECT * FROM image_builds WHERE state IN (${marks(states.length)}) ORDER BY seq`).all(...states).map(build);
    },
    updateBuild(tenantId, id, patch) {
      const { sets, values } = patchAssignments(IMAGE_BUILD, stamped(ctx, patch), BUILD_PATCHABLE);
      const r = ctx.q(`UPDATE image_builds SET ${sets.join(', ')} WHERE tenant_id = ? AND id = ? RETURNING *`).get(...values, tenantId, id);
      if (!r) throw buildNotFound(id);
      return build(r);
    },
  };
}
