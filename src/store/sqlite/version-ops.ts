/** Image versions: "major.minor" per image, numbered by the store, never reused. */
import type { ImageVersion } from '../../core/model.js';
import { CubbyError } from '../../errors/index.js';
import { decodePageToken, pageSize } from '../page-token.js';
import {
  formatVersion, parseVersionOrThrow, versionAfter, versionGreater, type VersionNumber,
} from '../version-number.js';
import { fromRow, insertSql, patchAssignments, type Row, stamped, toColumns } from '../codec.js';
import { imageNotFound, versionNotFound } from '../not-found.js';
import { toPage } from '../paging.js';
import { IMAGE_VERSION, VERSION_PATCHABLE } from '../records.js';
import { openVersion, sealVersion } from '../sealed-env.js';
import { type Ctx, marks, type SyncOps } from './context.js';

type VersionOps = Pick<SyncOps, 'nextVersion' | 'insertVersion' | 'getVersion' | 'listVersions' | 'findLatestVersion'
  | 'listVersionsByState' | 'updateVersion' | 'deleteVersion'>;

export function versionOps(ctx: Ctx): VersionOps {
  // Environment variables are sealed at rest (sealed-env.ts): opened on every read, sealed on insert.
  const secrets = () => ctx.secrets();
  const record = (r: Row): ImageVersion => openVersion(fromRow(IMAGE_VERSION, r), secrets);

  /** The image's highest ever assigned number; IMAGE_NOT_FOUND unless the image is the tenant's. */
  function lastAssigned(tenantId: string, imageId: string): VersionNumber | undefined {
    const r = ctx.q('SELECT last_major, last_minor FROM images WHERE tenant_id = ? AND id = ?').get(tenantId, imageId);
    if (!r) throw imageNotFound(imageId);
    return r.last_major === null ? undefined : { major: r.last_major as number, minor: r.last_minor as number };
  }

  function get(tenantId: string, imageId: string, version: string): Row | undefined {
    return ctx.q('SELECT * FROM image_versions WHERE tenant_id = ? AND image_id = ? AND version = ?').get(tenantId, imageId, version);
  }

  return {
    nextVersion: (tenantId, imageId) => formatVersion(versionAfter(lastAssigned(tenantId, imageId))),
    insertVersion(input) {
      const given = input.version === undefined ? undefined : parseVersionOrThrow(input.version);
      return ctx.write(() => {
        const last = lastAssigned(input.tenantId, input.imageId);
        const num = given ?? versionAfter(last);
        const rec: ImageVersion = { ...input, version: formatVersion(num), createdAt: input.createdAt ?? ctx.now() };
        if (get(rec.tenantId, rec.imageId, rec.version)) {
          throw new CubbyError('STORE_CONFLICT', `version ${rec.version} of image ${rec.imageId} already exists`,
            { details: { imageId: rec.imageId, version: rec.version } });
        }
        const { columns, values } = toColumns(IMAGE_VERSION, sealVersion(rec, secrets), { major: num.major, minor: num.minor });
        ctx.q(insertSql('image_versions', columns)).run(...values);
        if (!last || versionGreater(num, last)) {
          ctx.q('UPDATE images SET last_major = ?, last_minor = ? WHERE id = ?').run(num.major, num.minor, rec.imageId);
        }
        return record(get(rec.tenantId, rec.imageId, rec.version) as Row);
      });
    },
    getVersion(tenantId, imageId, version) {
      const r = get(tenantId, imageId, version);
      return r ? record(r) : undefined;
    },
    listVersions(tenantId, imageId, req = {}) {
      const size = pageSize(req.maxResults);
      const scope = { tenantId, imageId };
      const pos = decodePageToken(req.nextToken, 'versions', scope, 2);
      const [major, minor] = pos ?? [-1, -1];
      const rows = ctx.q(`SELECT * FROM image_versions WHERE tenant_id = ? AND image_id = ?
        AND (major > ? OR (major = ? AND minor > ?)) ORDER BY major, minor LIMIT ?`)
        .all(tenantId, imageId, major, major, minor, size + 1);
      return toPage(rows, size, record, (r) => [r.major as number, r.minor as number], 'versions', scope);
    },
    findLatestVersion(tenantId, imageId, filter = {}) {
      const states = filter.states ?? [];
      const r = ctx.q(`SELECT * FROM image_versions WHERE tenant_id = ? AND image_id = ?
        ${states.length > 0 ? `AND state IN (${marks(states.length)})` : ''}
        ${filter.status ? 'AND status = ?' : ''}
        ORDER BY major DESC, minor DESC LIMIT 1`)
        .get(tenantId, imageId, ...states, ...(filter.status ? [filter.status] : []));
      return r ? record(r) : undefined;
    },
    listVersionsByState(states) {
      if (states.length === 0) return [];
      return ctx.q(`SELECT * FROM image_versions WHERE state IN (${marks(states.length)}) ORDER BY created_at, image_id, major, minor`)
        .all(...states).map(record);
    },
    updateVersion(tenantId, imageId, version, patch) {
      const { sets, values } = patchAssignments(IMAGE_VERSION, stamped(ctx, patch), VERSION_PATCHABLE);
      const r = ctx.q(`UPDATE image_versions SET ${sets.join(', ')} WHERE tenant_id = ? AND image_id = ? AND version = ? RETURNING *`)
        .get(...values, tenantId, imageId, version);
      if (!r) throw versionNotFound(imageId, version);
      return record(r);
    },
    deleteVersion(tenantId, imageId, version) {
      // Builds follow through ON DELETE CASCADE.
      const n = ctx.q('DELETE FROM image_versions WHERE tenant_id = ? AND image_id = ? AND version = ?').run(tenantId, imageId, version).changes;
      if (n === 0) throw versionNotFound(imageId, version);
    },
  };
}

