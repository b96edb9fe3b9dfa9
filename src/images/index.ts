/** The images adapters: managed base images, code artifacts, Dockerfile checks, buildah builds. */
export { ManagedImages, defaultCacheDir, type ManagedImagesOptions } from './base/managed-images.js';
export { BASE_RECIPES, DEFAULT_DEBIAN_MIRROR, compareVersions, type BaseRecipe } from './base/catalog.js';
export { ZipArtifactUnpacker, type ZipArtifactUnpackerOptions } from './artifact/zip-artifact-unpacker.js';
export { DEFAULT_ARTIFACT_LIMITS, type ArtifactLimits } from './artifact/limits.js';
export { analyzeDockerfile, type DockerfileSummary, type FromClause } from './dockerfile/analyze.js';
export { checkFrom, rewriteFrom, type BaseRef } from './dockerfile/base-from.js';
export { BuildahBuilder, type BuildahBuilderOptions } from './build/buildah-builder.js';
export { baseImageRef } from './build/base-import.js';
export { TenantArtifacts, UPLOAD_SCHEME, type TenantArtifactsOptions } from './artifact/tenant-artifacts.js';
