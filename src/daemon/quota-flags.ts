/**
 * The operator's default per-tenant quotas as daemon flags (or CUBBY_QUOTA_* variables); a
 * tenant's own overrides (`cubby tenant quota set`) win over these. Sizes are given in MiB.
 */
import type { QuotaOverrides } from '../core/quotas/types.js';

export interface QuotaFlags {
  quotaRunning?: number | string;
  quotaMemoryMib?: number | string;
  quotaSuspended?: number | string;
  quotaCheckpointMib?: number | string;
  quotaBuilds?: number | string;
  quotaArtifacts?: number | string;
  quotaArtifactMib?: number | string;
}

const MIB = 1024 * 1024;

/** [flag member, env variable, quota, multiplier] */
const FLAGS: Array<[keyof QuotaFlags, string, keyof QuotaOverrides, number]> = [
  ['quotaRunning', 'CUBBY_QUOTA_RUNNING', 'running', 1],
  ['quotaMemoryMib', 'CUBBY_QUOTA_MEMORY_MIB', 'memoryMiB', 1],
  ['quotaSuspended', 'CUBBY_QUOTA_SUSPENDED', 'suspended', 1],
  ['quotaCheckpointMib', 'CUBBY_QUOTA_CHECKPOINT_MIB', 'checkpointBytes', MIB],
  ['quotaBuilds', 'CUBBY_QUOTA_BUILDS', 'builds', 1],
  ['quotaArtifacts', 'CUBBY_QUOTA_ARTIFACTS', 'artifacts', 1],
  ['quotaArtifactMib', 'CUBBY_QUOTA_ARTIFACT_MIB', 'artifactBytes', MIB],
];

const flagName = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** The defaults named by flags or environment; the rest stay the built-in ones. */
export function quotaDefaults(o: QuotaFlags, env: NodeJS.ProcessEnv = process.env): QuotaOverrides {
  const out: QuotaOverrides = {};
  for (const [flag, variable, quota, mult] of FLAGS) {
    const raw = o[flag] ?? env[variable];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${flagName(flag)}: expected a whole number >= 0, got ${String(raw)}`);
    out[quota] = n * mult;
  }
  return out;
}
