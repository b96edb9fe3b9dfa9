/**
 * Where a tenant's code artifact may come from, as policy:
 * - `cubby-artifact://<id>`: an upload to Cubby, stored at <artifactsDir>/<tenantId>/<id>.zip;
 *   a tenant only ever reaches its own uploads.
 * - `file:///abs.zip`: only under the operator's configured roots, and never inside the
 *   uploads directory (that would reach other tenants' uploads). A root holding `{tenant}`
 *   stands for each tenant's own directory (the tenant's id put in its place).
 * - `http(s)://`: only to addresses the operator's address policy allows (by default no
 *   loopback, private, link-local, reserved or unspecified address), every resolved address
 *   and every redirect hop checked, the connection pinned to the checked address: the daemon
 *   must not be a proxy into its own network.
 * Errors name the source as the tenant gave it, never a host path.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ArtifactSource, ArtifactUnpacker, UnpackedArtifact } from '../../core/ports/images.js';
import { CubbyError } from '../../errors/index.js';
import type { AddressPolicy } from '../../util/address-policy.js';
import type { FetchLog, Resolver } from './fetch-remote.js';
import { ZipArtifactUnpacker, type ZipArtifactUnpackerOptions } from './zip-artifact-unpacker.js';

export const UPLOAD_SCHEME = 'cubby-artifact://';
const UPLOAD_ID = /^[A-Za-z0-9_-]{8,64}$/;
const TENANT_ID = /^[A-Za-z0-9_-]+$/;
/** In a file root: the calling tenant's id. */
export const TENANT_PLACEHOLDER = '{tenant}';

export interface TenantArtifactsOptions {
  artifactsDir: string;
  /** Directories file:// artifacts may come from; `{tenant}` in one is the calling tenant's id. */
  fileRoots: string[];
  /** The operator's address policy for http(s) artifacts (default: no private range). */
  addresses?: AddressPolicy;
  /** Resolves host names for http(s) artifacts (tests); default: the system's resolver. */
  resolve?: Resolver;
  /** Where the real reason of a refused or failed fetch goes (the daemon log). */
  log?: FetchLog;
  limits?: ZipArtifactUnpackerOptions['limits'];
}

export class TenantArtifacts implements ArtifactUnpacker {
  private readonly artifactsDir: string;
  private readonly opts: TenantArtifactsOptions;

  constructor(opts: TenantArtifactsOptions) {
    this.artifactsDir = path.resolve(opts.artifactsDir);
    this.opts = opts;
  }

  /** The file roots of one tenant: `{tenant}` roots only when the tenant is known. */
  fileRootsFor(owner?: { tenantId: string }): string[] {
    return this.opts.fileRoots.flatMap((r) => {
      if (!r.includes(TENANT_PLACEHOLDER)) return [path.resolve(r)];
      if (!owner || !TENANT_ID.test(owner.tenantId)) return [];
      return [path.resolve(r.split(TENANT_PLACEHOLDER).join(owner.tenantId))];
    });
  }

  private unpacker(fileRoots: string[], label: string | undefined): ZipArtifactUnpacker {
    const { limits, addresses, resolve, log } = this.opts;
    return new ZipArtifactUnpacker({
      fileRoots,
      ...(limits ? { limits } : {}),
      ...(addresses ? { addresses } : {}),
      ...(resolve ? { resolve } : {}),
      ...(log ? { log } : {}),
      ...(label !== undefined ? { label } : {}),
    });
  }

  uploadPath(tenantId: string, id: string): string {
    if (!UPLOAD_ID.test(id) || !TENANT_ID.test(tenantId)) throw new CubbyError('ARTIFACT_INVALID', `invalid artifact id ${id}`);
    return path.join(this.artifactsDir, tenantId, `${id}.zip`);
  }

  async unpack(source: ArtifactSource, targetDir: string, owner?: { tenantId: string }): Promise<UnpackedArtifact> {
    const r = await this.route(source, owner);
    return r.via.unpack(r.source, targetDir);
  }

  async precheck(
    source: ArtifactSource,
    base: { name: string; version?: string },
    managedNames: readonly string[],
    owner?: { tenantId: string },
  ): Promise<void> {
    const r = await this.route(source, owner);
    await r.via.precheck(r.source, base, managedNames);
  }

  /** Which unpacker (and so which policy) a source goes through, uploads named by their path. */
  private async route(source: ArtifactSource, owner?: { tenantId: string }): Promise<{ via: ZipArtifactUnpacker; source: ArtifactSource }> {
    if (typeof source !== 'string') return { via: this.unpacker(this.fileRootsFor(owner), undefined), source };
    if (source.startsWith(UPLOAD_SCHEME)) {
      if (!owner) throw new CubbyError('ARTIFACT_INVALID', 'an uploaded artifact needs its tenant');
      const file = this.uploadPath(owner.tenantId, source.slice(UPLOAD_SCHEME.length));
      // Said by its URI: the tenant has no business with the host path.
      if (
        !(await fs.stat(file).then(
          (st) => st.isFile(),
          () => false,
        ))
      )
        throw new CubbyError('ARTIFACT_FETCH_FAILED', `no uploaded artifact ${source}`);
      return { via: this.unpacker([this.artifactsDir], source), source: pathToFileURL(file).href };
    }
    if (source.startsWith('file://')) {
      let given: string;
      try {
        given = path.resolve(decodeURIComponent(new URL(source).pathname));
      } catch {
        throw new CubbyError('ARTIFACT_INVALID', `artifact location is not a URI: ${source.slice(0, 200)}`);
      }
      const p = await fs.realpath(given).catch(() => given);
      if (p === this.artifactsDir || p.startsWith(this.artifactsDir + path.sep)) {
        throw new CubbyError('ARTIFACT_UNSAFE_PATH', 'uploaded artifacts are named by their cubby-artifact:// URI, not by path');
      }
    }
    return { via: this.unpacker(this.fileRootsFor(owner), source), source };
  }
}
