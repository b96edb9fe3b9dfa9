/** Runs the checks in order, each timed and isolated, and always cleans up what it launched. */
import type { Session } from './session.js';
import { checkStatus, type CheckId, type CheckResult, type Probe, type ValidationReport } from './types.js';
import { checkBuildTime } from './checks/build-time.js';
import { checkLatency } from './checks/latency.js';
import { checkIdleCost } from './checks/idle-cost.js';
import { checkBoundary } from './checks/boundary.js';
import { checkCleanup } from './checks/cleanup.js';

type CheckFn = (s: Session) => Promise<{ probes: Probe[]; data: Record<string, unknown> }>;

export const CHECKS: ReadonlyArray<{ id: CheckId; title: string; run: CheckFn }> = [
  { id: 'build', title: 'a. cold build-to-snapshot time', run: checkBuildTime },
  { id: 'latency', title: 'b. launch and resume latency', run: checkLatency },
  { id: 'idle-cost', title: 'c. idle cost profile', run: checkIdleCost },
  { id: 'boundary', title: 'd. tenant boundary (probed from inside the image)', run: checkBoundary },
  { id: 'cleanup', title: 'e. crash, timeout and abandonment cleanup', run: checkCleanup },
];

export async function runCheck(s: Session, c: (typeof CHECKS)[number], onDone?: (r: CheckResult) => void): Promise<CheckResult> {
  const t0 = Date.now();
  let result: CheckResult;
  try {
    const { probes, data } = await c.run(s);
    result = { id: c.id, title: c.title, status: checkStatus(probes), probes, data, durationMs: Date.now() - t0 };
  } catch (e) {
    const error = (e as Error).message ?? String(e);
    result = { id: c.id, title: c.title, status: 'FAIL', probes: [], data: {}, durationMs: Date.now() - t0, error };
  }
  onDone?.(result);
  return result;
}

export async function runValidation(
  s: Session,
  hooks: { onCheck?: (r: CheckResult) => void; onStart?: (title: string) => void } = {},
): Promise<ValidationReport> {
  const startedAt = new Date().toISOString();
  const checks: CheckResult[] = [];
  let cleanup = { launched: 0, terminated: 0, leftOver: [] as string[] };
  try {
    for (const c of CHECKS) {
      if (s.opts.only && !s.opts.only.includes(c.id)) continue;
      hooks.onStart?.(c.title);
      checks.push(await runCheck(s, c, hooks.onCheck));
    }
  } finally {
    const t = await s.terminateAll();
    cleanup = { launched: s.launched.size, terminated: t.terminated, leftOver: t.leftOver };
  }
  const build = checks.find((c) => c.id === 'build')?.data.version;
  return {
    image: s.opts.image,
    ...(typeof build === 'string' ? { version: build } : {}),
    startedAt,
    finishedAt: new Date().toISOString(),
    options: { ...s.opts },
    checks,
    cleanup,
    passed: checks.every((c) => c.status === 'PASS') && cleanup.leftOver.length === 0,
  };
}
