/** What a tenant's uploaded code artifacts take on disk (the uploads quota counts them). */
export interface ArtifactUsagePort {
  /** The tenant's stored uploads: how many, and their bytes (partial uploads excluded). */
  usage(tenantId: string): Promise<{ count: number; bytes: number }>;
}
