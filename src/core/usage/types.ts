/** What usage metering reports: per-microVM time and size, totals, and a cost estimate. */
import type { MicrovmState } from '../model.js';
import type { QuotaStatus } from '../quotas/types.js';

/**
 * Prices for the cost estimate, in `currency` units. Billing follows the Lambda MicroVMs model:
 * a RUNNING microVM pays for its baseline vCPUs and memory per second; a SUSPENDED one pays
 * only for the storage its snapshot takes.
 */
export interface UsagePrices {
  currency: string;
  /** Per vCPU-second of baseline vCPUs while RUNNING. */
  vcpuSecond: number;
  /** Per GiB-second of baseline memory while RUNNING. */
  gibSecond: number;
  /** Per GiB-month (30 days) of snapshot storage while SUSPENDED. */
  snapshotGibMonth: number;
}

export interface UsageCost {
  /** vCPU part of RUNNING time. */
  vcpu: number;
  /** Memory part of RUNNING time. */
  memory: number;
  /** Snapshot storage while SUSPENDED. */
  storage: number;
  total: number;
}

export interface MicrovmUsage {
  id: string;
  image: string;
  version: string;
  state: MicrovmState;
  startedAt: Date;
  terminatedAt?: Date;
  /** RUNNING / SUSPENDED seconds in the window, the current open period included up to now. */
  runningSeconds: number;
  suspendedSeconds: number;
  /** The image version's baseline. */
  memoryMiB: number;
  vcpus: number;
  /** Size on disk of the current suspend checkpoint (0 unless SUSPENDED). */
  snapshotBytes: number;
  /**
   * The snapshot size storage is charged at: snapshotBytes when there is a checkpoint, else the
   * version's build snapshot size (an estimate: past checkpoints are gone once resumed).
   */
  billedSnapshotBytes: number;
  /** True when the window cuts through closed periods, whose seconds are then prorated. */
  prorated: boolean;
  cost: UsageCost;
}

export interface UsageTotals {
  microvms: number;
  /** MicroVMs RUNNING or SUSPENDED right now. */
  running: number;
  suspended: number;
  runningSeconds: number;
  suspendedSeconds: number;
  vcpuSeconds: number;
  gibSeconds: number;
  /** Current checkpoints on disk. */
  snapshotBytes: number;
  snapshotGibMonths: number;
  cost: UsageCost;
}

export interface UsageWindow {
  /** Absent: since each microVM started. */
  from?: Date;
  /** Absent: now. */
  to?: Date;
}

export interface UsageQuery extends UsageWindow {
  /** Overrides of the service's prices. */
  prices?: Partial<UsagePrices>;
}

export interface UsageReport {
  tenantId: string;
  generatedAt: Date;
  from?: Date;
  to: Date;
  prices: UsagePrices;
  microvms: MicrovmUsage[];
  totals: UsageTotals;
  /** Each quota of the tenant with its limit and current use (absent without a quota service). */
  quotas?: QuotaStatus[];
}

/** One sample of what a RUNNING microVM's sandbox uses on the host right now. */
export interface MicrovmStats {
  microvmId: string;
  state: MicrovmState;
  sampledAt: Date;
  /** Memory charged to the sandbox (cgroup usage, page cache included). */
  memoryBytes: number;
  /** CPU time used since the sandbox started (sample twice for a rate). */
  cpuSeconds: number;
  /** The image version's baseline. */
  memoryMiB: number;
  vcpus: number;
  /** The sandbox's writable filesystem: bytes used and its size, when the runtime can tell. */
  diskUsedBytes?: number;
  diskTotalBytes?: number;
}
