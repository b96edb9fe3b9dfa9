/** Bounds on what a code artifact may cost the host; every one is configurable. */
export interface ArtifactLimits {
  /** Size of the zip itself (uploaded or fetched). */
  maxArchiveBytes: number;
  maxEntries: number;
  /** Bytes written for all entries together (counted as written, not taken from headers). */
  maxTotalBytes: number;
  /** Largest uncompressed/compressed ratio of an entry over 1 MiB (deflate can reach ~1000). */
  maxEntryRatio: number;
  /** Whole download time for an http(s) artifact. */
  fetchTimeoutMs: number;
}

export const DEFAULT_ARTIFACT_LIMITS: ArtifactLimits = {
  maxArchiveBytes: 256 * 1024 * 1024,
  maxEntries: 20_000,
  maxTotalBytes: 1024 * 1024 * 1024,
  maxEntryRatio: 200,
  fetchTimeoutMs: 60_000,
};

export const RATIO_FLOOR_BYTES = 1024 * 1024;
