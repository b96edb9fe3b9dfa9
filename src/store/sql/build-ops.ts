/** Image builds: each belongs to one version and goes with it. */
import type { ImageBuild } from '../../core/model.js';
import type { StoreOps } from '../../core/ports/store.js';
import { fromRow, insertSql, type Row, toColumns } from '../codec.js';
import { newBuildId } from '../ids.js';
import { buildNotFound, versionNotFound } from '../not-found.js';
import { decodePageToken, pageSize } from '../page-token.js';
import { toPage } from '../paging.js';
import { BUILD_PATCHABLE, IMAGE_BUILD } from '../records.js';
import type { SqlCtx } from './context.js';
import { patchExisting, rowsInState } from './rows.js';

type BuildOps = Pick<StoreOps, 'insertBuild' | 'getBuild' | 'listBuilds' | 'listBuildsByState' | 'updateBuild'>;

export function buildOps(ctx: SqlCtx): BuildOps {
  const build = (r: Row): ImageBuild => fromRow(IMAGE_BUILD, r);

  return {
    async insertBuild(input) {
      const rec: ImageBuild = { ...input, id: input.id ?? newBuildId(), createdAt: input.createdAt ?? ctx.now() };
      return ctx.write(async () => {
        // Locked: the version cannot be deleted before the insert commits.
        const locked = `SELECT 1 FROM image_versions WHERE tenant_id = ? AND image_id = ? AND version = ?${ctx.dialect.lock.keyShare}`;
        if (!(await ctx.get(locked, [rec.tenantId, rec.imageId, rec.version]))) throw versionNotFound(rec.imageId, rec.version);
        // A taken id is a unique violation: STORE_CONFLICT.
        const { columns, values } = toColumns(IMAGE_BUILD, rec);
        return build((await ctx.get(`${insertSql('image_builds', columns)} RETURNING *`, values)) as Row);
      });
    },
    async getBuild(tenantId, id) {
      const r = await ctx.get('SELECT * FROM image_builds WHERE tenant_id = ? AND id = ?', [tenantId, id]);
      return r ? build(r) : undefined;
    },
    async listBuilds(tenantId, imageId, version, req = {}) {
      const size = pageSize(req.maxResults);
      const scope = { tenantId, imageId, version };
      const [after] = decodePageToken(req.nextToken, 'builds', scope, 1) ?? [0];
      const rows = await ctx.all(
        `SELECT * FROM image_builds WHERE tenant_id = ? AND image_id = ? AND version = ? AND seq > ?
        ORDER BY seq LIMIT ?`,
        [tenantId, imageId, version, after, size + 1],
      );
      return toPage(rows, size, build, (r) => [r.seq as number], 'builds', scope);
    },
    listBuildsByState: async (states) => (await rowsInState(ctx, 'image_builds', states, 'seq')).map(build),
    updateBuild: async (tenantId, id, patch) =>
      build(
        await patchExisting(ctx, 'image_builds', IMAGE_BUILD, BUILD_PATCHABLE, patch, 'tenant_id = ? AND id = ?', [tenantId, id], () =>
          buildNotFound(id),
        ),
      ),
  };
}
