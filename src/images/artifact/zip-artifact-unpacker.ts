/** The artifact port's adapter: a zip (uploaded, local or over http) unpacked as a build context. */
import type { ArtifactSource, ArtifactUnpacker, UnpackedArtifact } from '../../core/ports/images.js';
import { analyzeDockerfile } from '../dockerfile/analyze.js';
import { checkFrom } from '../dockerfile/base-from.js';
import { extractZip } from './extract-zip.js';
import { DEFAULT_ARTIFACT_LIMITS, type ArtifactLimits } from './limits.js';
import { checkSource, loadArchive, localArchive, type SourcePolicy } from './load-archive.js';
import { scanZip } from './scan-zip.js';

export interface ZipArtifactUnpackerOptions extends SourcePolicy {
  limits?: Partial<ArtifactLimits>;
}

export class ZipArtifactUnpacker implements ArtifactUnpacker {
  readonly limits: ArtifactLimits;
  private readonly policy: SourcePolicy;

  constructor(opts: ZipArtifactUnpackerOptions = {}) {
    const { limits, ...policy } = opts;
    this.limits = { ...DEFAULT_ARTIFACT_LIMITS, ...limits };
    this.policy = policy;
  }

  async unpack(source: ArtifactSource, targetDir: string): Promise<UnpackedArtifact> {
    const archive = await loadArchive(source, this.limits, this.policy);
    return extractZip(archive, targetDir, this.limits);
  }

  async precheck(source: ArtifactSource, base: { name: string; version?: string }, managedNames: readonly string[]): Promise<void> {
    if (!checkSource(source, this.policy)) return;
    // A local zip is opened in place: only its central directory and Dockerfile are read.
    const dockerfile = await scanZip(await localArchive(source, this.limits, this.policy), this.limits);
    checkFrom(analyzeDockerfile(dockerfile).from, base, managedNames);
  }
}
