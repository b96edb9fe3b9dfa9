/**
 * The images ports: managed base images (root filesystems Cubby builds and caches on the host),
 * code artifacts (a zip with a Dockerfile at its root) and the image builder that runs such a
 * Dockerfile on a managed base and hands back a plain rootfs directory plus the image config.
 */

export type ManagedImageStatus = 'AVAILABLE' | 'DEPRECATED';

/** One managed base image in the catalog: its current recipe version. */
export interface ManagedImageDef {
  name: string;
  /** "major.minor" of the current recipe; older versions on disk are DEPRECATED. */
  version: string;
  description: string;
  /** Debian packages the recipe asks for (on top of a minimal system). */
  packages: string[];
}

/** One built version of a managed image, as stored in its manifest.json. */
export interface ManagedImageInfo {
  name: string;
  version: string;
  status: ManagedImageStatus;
  /** ISO-8601 time the build completed. */
  createdAt: string;
  sizeBytes: number;
  /** Installed Debian packages, "name=version". */
  packages: string[];
  /** Absolute path of the root filesystem directory (never modify it). */
  rootfs: string;
}

export interface BaseImageProgress {
  /** waiting | debootstrap | derive | install | configure | cleanup | finalize | done | cached */
  phase: string;
  /** One line of a child command's output, when there is one. */
  line?: string;
}

export type BaseImageProgressFn = (p: BaseImageProgress) => void;

export interface ManagedImageStore {
  catalog(): ManagedImageDef[];
  /** Every version built on this host, any status. */
  list(): Promise<ManagedImageInfo[]>;
  /** Returns the image, building it first (once per host, whatever the number of callers). */
  ensure(name: string, version?: string, onProgress?: BaseImageProgressFn): Promise<ManagedImageInfo>;
  /** Returns a built image; IMAGE_BASE_NOT_FOUND when it is not built or not in the catalog. */
  resolve(name: string, version?: string): Promise<ManagedImageInfo>;
}

/**
 * Where a code artifact comes from: a URI string (`file:///abs/path.zip`, `http(s)://...`) or the
 * uploaded bytes themselves.
 */
export type ArtifactSource = string | Uint8Array;

export interface UnpackedArtifact {
  /** The directory the artifact was extracted into (the build context). */
  dir: string;
  /** Absolute path of the Dockerfile at its root. */
  dockerfile: string;
  files: number;
  /** Bytes actually written. */
  bytes: number;
}

export interface ArtifactUnpacker {
  /**
   * Extracts into `targetDir` (created; must not exist or be empty). On failure nothing remains.
   * `owner` is the tenant on whose behalf it runs: uploads (`cubby-artifact://<id>`) resolve
   * within that tenant's own artifacts only.
   */
  unpack(source: ArtifactSource, targetDir: string, owner?: { tenantId: string }): Promise<UnpackedArtifact>;
  /**
   * What can be known at request time, so the caller gets a validation error at once rather than
   * a FAILED build: the source is allowed; and for local sources (uploads, file://) the zip opens,
   * has a Dockerfile at its root, and that Dockerfile is one Cubby builds, FROM `base` (one of
   * `managedNames`). Remote sources are fetched and checked by the build. Writes nothing.
   */
  precheck(
    source: ArtifactSource,
    base: { name: string; version?: string },
    managedNames: readonly string[],
    owner?: { tenantId: string },
  ): Promise<void>;
}

export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  workdir: string;
  user?: string;
  exposedPorts: number[];
}

export interface BuildRequest {
  /** The build context: an unpacked artifact with its Dockerfile at the root. */
  contextDir: string;
  /** The managed base the caller asked for; the Dockerfile's FROM must name it. */
  base: { name: string; version?: string };
  /** Where the built root filesystem is written; must not exist yet. */
  outputDir: string;
  /**
   * Network for RUN steps: none (default), or `internet` (public addresses and DNS, through the
   * build's own network namespace, fenced like a microVM's: never the host, other sandboxes or
   * private ranges the operator has not allowed).
   */
  network?: 'none' | 'internet';
  /**
   * Whose layer cache the build reads and fills (e.g. the tenant); absent: no cache. Entries are
   * never shared between scopes.
   */
  cacheScope?: string;
  /** Build every step afresh (the cache is still filled for later builds). */
  noCache?: boolean;
  /**
   * Paths in the image the runtime will bind-mount files over (the agent): made as empty files in
   * the exported rootfs, so starting a sandbox never writes the rootfs.
   */
  mountPoints?: readonly string[];
  /** Whole-build time limit (default 15 minutes). */
  timeoutMs?: number;
  /** Memory cap of each RUN step (default: the builder's). */
  memoryBytes?: number;
  /** Disk cap of the whole build: its layers, containers and temporary files (default: the builder's). */
  diskBytes?: number;
  buildArgs?: Record<string, string>;
  /**
   * The build role's secrets (name -> value): RUN steps read them as files in
   * /run/cubby/secrets (BUILD_SECRETS_DIR); they are never written into the image or its layers.
   */
  secrets?: Record<string, string>;
  /** Called with each line of the build log as it is produced. */
  onLog?: (line: string) => void;
}

export interface BuiltImage {
  rootfs: string;
  config: ImageConfig;
  base: { name: string; version: string };
  sizeBytes: number;
  /** The full build log. */
  log: string;
  durationMs: number;
}

export interface ImageBuilder {
  /** Builds; on failure throws (BUILD_FAILED with the log in details) and leaves nothing behind. */
  build(req: BuildRequest): Promise<BuiltImage>;
}
