/** Image builds: each belongs to one version and goes with it. */
import type { ImageBuild } from '../../core/model.js';
import { fromRow, insertSql, patchAssignments, type Row, stamped, toColumns } from '../codec.js';
import { newBuildId } from '../ids.js';
import { buildNotFound, versionNotFound } from '../not-found.js';
import { decodePageToken, pageSize } from '../page-token.js';
import { toPage } from '../paging.js';
import { BUILD_PATCHABLE, IMAGE_BUILD } from '../records.js';
import type { Ctx, Ops } from './context.js';

type BuildOps = Pick<Ops, 'insertBuild' | 'getBuild' | 'listBuilds' | 'listBuildsByState' | 'updateBuild'>;

export function buildOps(ctx: Ctx): BuildOps {
  const build = (r: Row): ImageBuild => fromRow(IMAGE_BUILD, r);

  return {
    async insertBuild(input) {
      const rec: ImageBuild = { ...input, id: input.id ?? newBuildId(), createdAt: input.createdAt ?? ctx.now() };
      return ctx.write(async () => {
        // FOR KEY SHARE: the version cannot be deleted before the insert commits (the foreign key needs it anyway).
        if (!(await ctx.one('SELECT 1 FROM image_versions WHERE tenant_id = ? AND image_id = ? AND version = ? FOR KEY SHARE',
          rec.tenantId, rec.imageId, rec.version))) {
          throw versionNotFound(rec.imageId, rec.version);
        }
        // A taken id is a unique violation: STORE_CONFLICT.
        const { columns, values } = toColumns(IMAGE_BUILD, rec);
        return build((await ctx.one(`${insertSql('image_builds', columns)} RETURNING *`, ...values)) as Row);
      });
    },
    async getBuild(tenantId, id) {
      const r = await ctx.one('SELECT * FROM image_builds WHERE tenant_id = ? AND id = ?', tenantId, id);
      return r ? build(r) : undefined;
    },
    async listBuilds(tenantId, imageId, version, req = {}) {
      const size = pageSize(req.maxResults);
      const scope = { tenantId, imageId, version };
      const [after] = decodePageToken(req.nextToken, 'builds', scope, 1) ?? [0];
      const rows = await ctx.all(`SELECT * FROM image_builds WHERE tenant_id = ? AND image_id = ? AND version = ? AND seq > ?
        ORDER BY seq LIMIT ?`, tenantId, imageId, version, after, size + 1);
      return toPage(rows, size, build, (r) => [r.seq as number], 'builds', scope);
    },
    async listBuildsByState(states) {
      if (states.length === 0) return [];
      return (await ctx.all('SELECT * FROM image_builds WHERE state = ANY(?) ORDER BY seq', states)).map(build);
    },
    async updateBuild(tenantId, id, patch) {
      const { sets, values } = patchAssignments(IMAGE_BUILD, stamped(ctx, patch), BUILD_PATCHABLE);
      const r = await ctx.one(`UPDATE image_builds SET ${sets.join(', ')} WHERE tenant_id = ? AND id = ? RETURNING *`, ...values, tenantId, id);
      if (!r) throw buildNotFound(id);
      return build(r);
    },
  };
}
