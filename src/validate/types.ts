/** The shape of a `cubby validate` report (the --json output). */

/** PASS/FAIL decide; WARN is a finding that does not fail the check; N.A. could not be tested here. */
export type Status = 'PASS' | 'FAIL' | 'WARN' | 'N.A.';

export interface Probe {
  name: string;
  status: Status;
  detail: string;
}

export type CheckId = 'build' | 'latency' | 'idle-cost' | 'boundary' | 'cleanup';

export interface CheckResult {
  id: CheckId;
  title: string;
  /** FAIL if any probe failed or the check could not run; else PASS. */
  status: 'PASS' | 'FAIL';
  probes: Probe[];
  /** Measurements, for scripts (milliseconds, bytes, prices). */
  data: Record<string, unknown>;
  durationMs: number;
  error?: string;
}

export interface CleanupSummary {
  /** MicroVMs the validator launched. */
  launched: number;
  /** Those it had to terminate at the end (the others ended on their own or in their check). */
  terminated: number;
  /** Launched by the validator and not TERMINATED when it finished (should be empty). */
  leftOver: string[];
}

export interface ValidationReport {
  image: string;
  version?: string;
  startedAt: string;
  finishedAt: string;
  options: Record<string, unknown>;
  checks: CheckResult[];
  cleanup: CleanupSummary;
  passed: boolean;
}

export function checkStatus(probes: readonly Probe[], error?: string): 'PASS' | 'FAIL' {
  return error || probes.some((p) => p.status === 'FAIL') ? 'FAIL' : 'PASS';
}
