/** Image versions: "major.minor" per image, numbered by the store, never reused. */
import type { ImageVersion } from '../../core/model.js';
import type { StoreOps } from '../../core/ports/store.js';
import { CubbyError } from '../../errors/index.js';
import { fromRow, insertSql, type Row, toColumns } from '../codec.js';
import { imageNotFound, versionNotFound } from '../not-found.js';
import { decodePageToken, pageSize } from '../page-token.js';
import { toPage } from '../paging.js';
import { IMAGE_VERSION, VERSION_PATCHABLE } from '../records.js';
import { openVersion, sealVersion } from '../sealed-env.js';
import { formatVersion, parseVersionOrThrow, versionAfter, versionGreater, type VersionNumber } from '../version-number.js';
import type { SqlCtx } from './context.js';
import { patchExisting, rowsInState } from './rows.js';

type VersionOps = Pick<
  StoreOps,
  | 'nextVersion'
  | 'insertVersion'
  | 'getVersion'
  | 'listVersions'
  | 'findLatestVersion'
  | 'listVersionsByState'
  | 'updateVersion'
  | 'deleteVersion'
>;

export function versionOps(ctx: SqlCtx): VersionOps {
  const d = ctx.dialect;
  // Environment variables are sealed at rest (sealed-env.ts): opened on every read, sealed on insert.
  const secrets = () => ctx.secrets();
  const record = (r: Row): ImageVersion => openVersion(fromRow(IMAGE_VERSION, r), secrets);

  /**
   * The image's highest ever assigned number; IMAGE_NOT_FOUND unless the image is the tenant's.
   * `lock` (inside a write) holds the image row until the transaction ends, so concurrent
   * inserts number in turn.
   */
  async function lastAssigned(tenantId: string, imageId: string, lock: boolean): Promise<VersionNumber | undefined> {
    const r = await ctx.get(`SELECT last_major, last_minor FROM images WHERE tenant_id = ? AND id = ?${lock ? d.lock.forUpdate : ''}`, [
      tenantId,
      imageId,
    ]);
    if (!r) throw imageNotFound(imageId);
    return r.last_major === null ? undefined : { major: r.last_major as number, minor: r.last_minor as number };
  }

  const get = (tenantId: string, imageId: string, version: string): Promise<Row | undefined> =>
    ctx.get('SELECT * FROM image_versions WHERE tenant_id = ? AND image_id = ? AND version = ?', [tenantId, imageId, version]);

  return {
    nextVersion: async (tenantId, imageId) => formatVersion(versionAfter(await lastAssigned(tenantId, imageId, false))),
    async insertVersion(input) {
      const given = input.version === undefined ? undefined : parseVersionOrThrow(input.version);
      return ctx.write(async () => {
        const last = await lastAssigned(input.tenantId, input.imageId, true);
        const num = given ?? versionAfter(last);
        const rec: ImageVersion = { ...input, version: formatVersion(num), createdAt: input.createdAt ?? ctx.now() };
        if (await get(rec.tenantId, rec.imageId, rec.version)) {
          throw new CubbyError('STORE_CONFLICT', `version ${rec.version} of image ${rec.imageId} already exists`, {
            details: { imageId: rec.imageId, version: rec.version },
          });
        }
        const { columns, values } = toColumns(IMAGE_VERSION, sealVersion(rec, secrets), { major: num.major, minor: num.minor });
        const r = await ctx.get(`${insertSql('image_versions', columns)} RETURNING *`, values);
        if (!last || versionGreater(num, last)) {
          await ctx.run('UPDATE images SET last_major = ?, last_minor = ? WHERE id = ?', [num.major, num.minor, rec.imageId]);
        }
        return record(r as Row);
      });
    },
    async getVersion(tenantId, imageId, version) {
      const r = await get(tenantId, imageId, version);
      return r ? record(r) : undefined;
    },
    async listVersions(tenantId, imageId, req = {}) {
      const size = pageSize(req.maxResults);
      const scope = { tenantId, imageId };
      const [major, minor] = decodePageToken(req.nextToken, 'versions', scope, 2) ?? [-1, -1];
      const rows = await ctx.all(
        `SELECT * FROM image_versions WHERE tenant_id = ? AND image_id = ?
        AND (major, minor) > (?, ?) ORDER BY major, minor LIMIT ?`,
        [tenantId, imageId, major, minor, size + 1],
      );
      return toPage(rows, size, record, (r) => [r.major as number, r.minor as number], 'versions', scope);
    },
    async findLatestVersion(tenantId, imageId, filter = {}) {
      const where = ['tenant_id = ?', 'image_id = ?'];
      const params: unknown[] = [tenantId, imageId];
      if (filter.states && filter.states.length > 0) {
        const inState = d.inList('state', filter.states);
        where.push(inState.sql);
        params.push(...inState.params);
      }
      if (filter.status) {
        where.push('status = ?');
        params.push(filter.status);
      }
      const r = await ctx.get(`SELECT * FROM image_versions WHERE ${where.join(' AND ')} ORDER BY major DESC, minor DESC LIMIT 1`, params);
      return r ? record(r) : undefined;
    },
    listVersionsByState: async (states) =>
      (await rowsInState(ctx, 'image_versions', states, 'created_at, image_id, major, minor')).map(record),
    updateVersion: async (tenantId, imageId, version, patch) =>
      record(
        await patchExisting(
          ctx,
          'image_versions',
          IMAGE_VERSION,
          VERSION_PATCHABLE,
          patch,
          'tenant_id = ? AND image_id = ? AND version = ?',
          [tenantId, imageId, version],
          () => versionNotFound(imageId, version),
        ),
      ),
    async deleteVersion(tenantId, imageId, version) {
      // Builds follow through ON DELETE CASCADE.
      const n = await ctx.run('DELETE FROM image_versions WHERE tenant_id = ? AND image_id = ? AND version = ?', [
        tenantId,
        imageId,
        version,
      ]);
      if (n === 0) throw versionNotFound(imageId, version);
    },
  };
}
