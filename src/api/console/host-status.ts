/**
 * Host capacity and daemon health for the operator's page: the shape GET /console/api/host
 * answers. No imports, so the browser console (console/, its own tsconfig) can share it.
 */
export interface HostStatus {
  running: number;
  suspended: number;
  /** RUNNING microVMs with no request for at least a minute. */
  idleRunning: number;
  diskFreeBytes: number;
  diskTotalBytes: number;
  memoryAvailableBytes: number;
  uptimeSeconds: number;
  checks: Array<{ name: string; ok: boolean; detail?: string }>;
}
