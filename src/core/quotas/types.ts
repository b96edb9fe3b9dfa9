/**
 * Per-tenant quotas: what one tenant may hold at once on this host. The operator sets defaults
 * (daemon flags) and per-tenant overrides (`cubby tenant quota set`); an override wins.
 */
import type { ErrorCode } from '../../errors/index.js';

export const QUOTA_NAMES = ['running', 'memoryMiB', 'suspended', 'checkpointBytes', 'builds', 'artifacts', 'artifactBytes'] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];

/** A limit per quota (counts, MiB or bytes as the name says). */
export type QuotaLimits = Record<QuotaName, number>;
/** A tenant's overrides: members absent fall back to the operator's defaults. */
export type QuotaOverrides = Partial<QuotaLimits>;
/** What a tenant uses now, per quota. */
export type QuotaUsage = Record<QuotaName, number>;

const MIB = 1024 * 1024;

/** The operator's defaults unless the daemon is told otherwise (README "Quotas"). */
export const DEFAULT_QUOTAS: QuotaLimits = {
  running: 20,
  memoryMiB: 40_960,
  suspended: 100,
  checkpointBytes: 20_480 * MIB,
  builds: 2,
  artifacts: 100,
  artifactBytes: 2048 * MIB,
};

export interface QuotaInfo {
  code: ErrorCode;
  label: string;
  unit: 'count' | 'MiB' | 'bytes';
  metric: string;
}

/** Per quota: the error it raises, how a message names it, and its /metrics label. */
export const QUOTA_INFO: Record<QuotaName, QuotaInfo> = {
  running: { code: 'QUOTA_RUNNING_MICROVMS', label: 'running microVMs', unit: 'count', metric: 'running_microvms' },
  memoryMiB: { code: 'QUOTA_MEMORY', label: 'memory of running microVMs', unit: 'MiB', metric: 'memory_mib' },
  suspended: { code: 'QUOTA_SUSPENDED_MICROVMS', label: 'suspended microVMs', unit: 'count', metric: 'suspended_microvms' },
  checkpointBytes: {
    code: 'QUOTA_CHECKPOINT_BYTES',
    label: 'checkpoint bytes of suspended microVMs',
    unit: 'bytes',
    metric: 'checkpoint_bytes',
  },
  builds: { code: 'QUOTA_BUILDS', label: 'concurrent image builds', unit: 'count', metric: 'builds' },
  artifacts: { code: 'QUOTA_ARTIFACTS', label: 'uploaded artifacts', unit: 'count', metric: 'artifacts' },
  artifactBytes: { code: 'QUOTA_ARTIFACTS', label: 'uploaded artifact bytes', unit: 'bytes', metric: 'artifact_bytes' },
};

/** One quota as reported (usage report, CLI, metrics). */
export interface QuotaStatus {
  name: QuotaName;
  limit: number;
  used: number;
  unit: QuotaInfo['unit'];
  /** True when the tenant has its own limit for this quota. */
  overridden: boolean;
}
