/**
 * Where a tenant's code artifact may come from, as policy:
 * - `cubby-artifact://<id>`: an upload to Cubby, stored at <artifactsDir>/<tenantId>/<id>.zip;
 *   a tenant only ever reaches its own uploads.
 * - `file:///abs.zip`: only under the operator's configured roots, and never inside the
 *   uploads directory (that would reach other tenants' uploads).
 * - `http(s)://`: only to addresses the operator allows; by default no loopback, private,
 *   link-local or unspecified address (the daemon must not be a proxy into its own network).
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ArtifactSource, ArtifactUnpacker, UnpackedArtifact } from '../../core/ports/images.js';
import { CubbyError } from '../../errors/index.js';
import { ZipArtifactUnpacker, type ZipArtifactUnpackerOptions } from './zip-artifact-unpacker.js';

export const UPLOAD_SCHEME = 'cubby-artifact://';
const UPLOAD_ID = /^[A-Za-z0-9_-]{8,64}$/;

export interface TenantArtifactsOptions {
  artifactsDir: string;
  fileRoots: string[];
  /** Hosts (names or IPs) http(s) artifacts may come from even if private (e.g. an internal store). */
  allowHosts?: string[];
  limits?: ZipArtifactUnpackerOptions['limits'];
}

function privateAddress(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (net.isIPv4(h)) {
    const [a = 0, b = 0] = h.split('.').map(Number);
    return a === 10 || a === 127 || a === 0 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  if (net.isIPv6(h)) return h === '::1' || h === '::' || h.startsWith('fc') || h.startsWith('fd') || h.startsWith('fe80') || h.startsWith('::ffff:');
  return false;
}

export class TenantArtifacts implements ArtifactUnpacker {
  private readonly uploads: ZipArtifactUnpacker;
  private readonly external: ZipArtifactUnpacker;
  private readonly artifactsDir: string;

  constructor(opts: TenantArtifactsOptions) {
    this.artifactsDir = path.resolve(opts.artifactsDir);
    this.uploads = new ZipArtifactUnpacker({ limits: opts.limits, fileRoots: [this.artifactsDir] });
    const allow = new Set((opts.allowHosts ?? []).map((h) => h.toLowerCase()));
    // Name-based hosts are checked as written; a name resolving to a private address is the
    // operator's DNS to keep honest (documented).
    this.external = new ZipArtifactUnpacker({
      limits: opts.limits,
      fileRoots: opts.fileRoots.map((r) => path.resolve(r)),
      allowUrl: (u) => allow.has(u.hostname.toLowerCase()) || !privateAddress(u.hostname),
    });
  }

  uploadPath(tenantId: string, id: string): string {
    if (!UPLOAD_ID.test(id) || !/^[A-Za-z0-9_-]+$/.test(tenantId)) throw new CubbyError('ARTIFACT_INVALID', `invalid artifact id ${id}`);
    return path.join(this.artifactsDir, tenantId, `${id}.zip`);
  }

  async unpack(source: ArtifactSource, targetDir: string, owner?: { tenantId: string }): Promise<UnpackedArtifact> {
    const r = await this.route(source, owner);
    return r.via.unpack(r.source, targetDir);
  }

  async precheck(source: ArtifactSource, base: { name: string; version?: string }, managedNames: readonly string[], owner?: { tenantId: string }): Promise<void> {
    const r = await this.route(source, owner);
    await r.via.precheck(r.source, base, managedNames);
  }

  /** Which unpacker (and so which policy) a source goes through, uploads named by their path. */
  private async route(source: ArtifactSource, owner?: { tenantId: string }): Promise<{ via: ZipArtifactUnpacker; source: ArtifactSource }> {
    if (typeof source !== 'string') return { via: this.external, source };
    if (source.startsWith(UPLOAD_SCHEME)) {
      if (!owner) throw new CubbyError('ARTIFACT_INVALID', 'an uploaded artifact needs its tenant');
      const file = this.uploadPath(owner.tenantId, source.slice(UPLOAD_SCHEME.length));
      // Said by its URI: the tenant has no business with the host path.
      if (!(await fs.stat(file).then((st) => st.isFile(), () => false))) throw new CubbyError('ARTIFACT_FETCH_FAILED', `no uploaded artifact ${source}`);
      return { via: this.uploads, source: `file://${file}` };
    }
    if (source.startsWith('file://')) {
      let given: string;
      try { given = path.resolve(decodeURIComponent(new URL(source).pathname)); } catch {
        throw new CubbyError('ARTIFACT_INVALID', `artifact location is not a URI: ${source.slice(0, 200)}`);
      }
      const p = await fs.realpath(given).catch(() => given);
      if (p === this.artifactsDir || p.startsWith(this.artifactsDir + path.sep)) {
        throw new CubbyError('ARTIFACT_UNSAFE_PATH', 'uploaded artifacts are named by their cubby-artifact:// URI, not by path');
      }
    }
    return { via: this.external, source };
  }
}
