/** Image versions: "major.minor" per image, numbered by the store, never reused. */
import type { ImageVersion } from '../../core/model.js';
import { CubbyError } from '../../errors/index.js';
import { fromRow, insertSql, patchAssignments, type Row, stamped, toColumns } from '../codec.js';
import { imageNotFound, versionNotFound } from '../not-found.js';
import { decodePageToken, pageSize } from '../page-token.js';
import { toPage } from '../paging.js';
import { IMAGE_VERSION, VERSION_PATCHABLE } from '../records.js';
import { openVersion, sealVersion } from '../sealed-env.js';
import {
  formatVersion, parseVersionOrThrow, versionAfter, versionGreater, type VersionNumber,
} from '../version-number.js';
import type { Ctx, Ops } from './context.js';

type VersionOps = Pick<Ops, 'nextVersion' | 'insertVersion' | 'getVersion' | 'listVersions' | 'findLatestVersion'
  | 'listVersionsByState' | 'updateVersion' | 'deleteVersion'>;

export function versionOps(ctx: Ctx): VersionOps {
  // Environment variables are sealed at rest (sealed-env.ts): opened on every read, sealed on insert.
  const secrets = () => ctx.secrets();
  const record = (r: Row): ImageVersion => openVersion(fromRow(IMAGE_VERSION, r), secrets);

  /**
   * The image's highest ever assigned number; IMAGE_NOT_FOUND unless the image is the tenant's.
   * `lock` holds the image row until the transaction ends, so concurrent inserts number in turn.
   */
  async function lastAssigned(tenantId: string, imageId: string, lock: boolean): Promise<VersionNumber | undefined> {
    const r = await ctx.one(`SELECT last_major, last_minor FROM images WHERE tenant_id = ? AND id = ?${lock ? ' FOR UPDATE' : ''}`,
      tenantId, imageId);
    if (!r) throw imageNotFound(imageId);
    return r.last_major === null ? undefined : { major: r.last_major as number, minor: r.last_minor as number };
  }

  const get = (tenantId: string, imageId: string, version: string): Promise<Row | undefined> =>
    ctx.one('SELECT * FROM image_versions WHERE tenant_id = ? AND image_id = ? AND version = ?', tenantId, imageId, version);

  return {
    nextVersion: async (tenantId, imageId) => formatVersion(versionAfter(await lastAssigned(tenantId, imageId, false))),
    async insertVersion(input) {
      const given = input.version === undefined ? undefined : parseVersionOrThrow(input.version);
      return ctx.write(async () => {
        const last = await lastAssigned(input.tenantId, input.imageId, true);
        const num = given ?? versionAfter(last);
        const rec: ImageVersion = { ...input, version: formatVersion(num), createdAt: input.createdAt ?? ctx.now() };
        if (await get(rec.tenantId, rec.imageId, rec.version)) {
          throw new CubbyError('STORE_CONFLICT', `version ${rec.version} of image ${rec.imageId} already exists`,
            { details: { imageId: rec.imageId, version: rec.version } });
        }
        const { columns, values } = toColumns(IMAGE_VERSION, sealVersion(rec, secrets), { major: num.major, minor: num.minor });
        const r = await ctx.one(`${insertSql('image_versions', columns)} RETURNING *`, ...values);
        if (!last || versionGreater(num, last)) {
          await ctx.run('UPDATE images SET last_major = ?, last_minor = ? WHERE id = ?', num.major, num.minor, rec.imageId);
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
      const rows = await ctx.all(`SELECT * FROM image_versions WHERE tenant_id = ? AND image_id = ?
        AND (major, minor) > (?, ?) ORDER BY major, minor LIMIT ?`, tenantId, imageId, major, minor, size + 1);
      return toPage(rows, size, record, (r) => [r.major as number, r.minor as number], 'versions', scope);
    },
    async findLatestVersion(tenantId, imageId, filter = {}) {
      const states = filter.states ?? [];
      const r = await ctx.one(`SELECT * FROM image_versions WHERE tenant_id = ? AND image_id = ?
        AND (cardinality(?::text[]) = 0 OR state = ANY(?::text[])) AND (?::text IS NULL OR status = ?::text)
        ORDER BY major DESC, minor DESC LIMIT 1`, tenantId, imageId, states, states, filter.status ?? null, filter.status ?? null);
      return r ? record(r) : undefined;
    },
    async listVersionsByState(states) {
      if (states.length === 0) return [];
      return (await ctx.all('SELECT * FROM image_versions WHERE state = ANY(?) ORDER BY created_at, image_id, major, minor', states))
        .map(record);
    },
    async updateVersion(tenantId, imageId, version, patch) {
      const { sets, values } = patchAssignments(IMAGE_VERSION, stamped(ctx, patch), VERSION_PATCHABLE);
      const r = await ctx.one(`UPDATE image_versions SET ${sets.join(', ')} WHERE tenant_id = ? AND image_id = ? AND version = ? RETURNING *`,
        ...values, tenantId, imageId, version);
      if (!r) throw versionNotFound(imageId, version);
      return record(r);
    },
    async deleteVersion(tenantId, imageId, version) {
      // Builds follow through ON DELETE CASCADE.
      const n = await ctx.run('DELETE FROM image_versions WHERE tenant_id = ? AND image_id = ? AND version = ?', tenantId, imageId, version);
      if (n === 0) throw versionNotFound(imageId, version);
    },
  };
}
