/**
 * Check b: launch and resume latency with the user's image. N launches, each timed from the
 * RunMicrovm call to the app's first answer through the gateway (token minting included); then
 * one microVM suspended N times, each time woken by a request (auto-resume) and timed from that
 * request to its answer.
 */
import { SuspendMicrovmCommand } from '@aws-sdk/client-lambda-microvms';
import type { Session } from '../session.js';
import type { Probe } from '../types.js';
import { firstAnswer } from '../endpoint-http.js';
import { ms, percentile } from '../format.js';

const ANSWER_DEADLINE_MS = 30_000;

export interface Sample {
  samplesMs: number[];
  p50?: number;
  p95?: number;
  min?: number;
  max?: number;
  failures: string[];
}

function summarize(samplesMs: number[], failures: string[]): Sample {
  return {
    samplesMs,
    failures,
    p50: percentile(samplesMs, 50),
    p95: percentile(samplesMs, 95),
    min: samplesMs.length ? Math.min(...samplesMs) : undefined,
    max: samplesMs.length ? Math.max(...samplesMs) : undefined,
  };
}

function probe(name: string, what: string, s: Sample, n: number): Probe {
  const stats = `p50 ${ms(s.p50)}, p95 ${ms(s.p95)} (min ${ms(s.min)}, max ${ms(s.max)}, n=${s.samplesMs.length})`;
  if (s.failures.length > 0)
    return { name, status: 'FAIL', detail: `${s.failures.length}/${n} ${what} got no answer: ${s.failures[0]}; ${stats}` };
  return { name, status: 'PASS', detail: `${what} to first answer: ${stats}` };
}

async function launches(s: Session, n: number): Promise<{ total: Sample; api: number[] }> {
  const samples: number[] = [];
  const api: number[] = [];
  const failures: string[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = Date.now();
    let id: string | undefined;
    try {
      const m = await s.launch();
      id = m.id;
      api.push(Date.now() - t0);
      const token = await s.token(m.id);
      const a = await firstAnswer({ endpoint: m.endpoint, token, port: s.opts.port, path: s.opts.path }, t0, ANSWER_DEADLINE_MS);
      samples.push(a.ms);
    } catch (e) {
      failures.push((e as Error).message);
    } finally {
      // One at a time, so each launch is timed on a quiet host.
      if (id) await s.terminate(id).catch(() => undefined);
    }
  }
  return { total: summarize(samples, failures), api };
}

async function resumes(s: Session, n: number): Promise<{ total: Sample; suspendMs: number[] }> {
  const samples: number[] = [];
  const suspendMs: number[] = [];
  const failures: string[] = [];
  const m = await s.launch({ idlePolicy: { maxIdleDurationSeconds: 3600, suspendedDurationSeconds: 3600, autoResumeEnabled: true } });
  try {
    const token = await s.token(m.id);
    const req = { endpoint: m.endpoint, token, port: s.opts.port, path: s.opts.path };
    await firstAnswer(req, Date.now(), ANSWER_DEADLINE_MS);
    for (let i = 0; i < n; i++) {
      try {
        const t0 = Date.now();
        await s.client.send(new SuspendMicrovmCommand({ microvmIdentifier: m.id }));
        const w = await s.waitForState(m.id, ['SUSPENDED'], 60_000, 50);
        if (!w.reached) throw new Error(`suspend did not reach SUSPENDED (stayed ${w.m.state}: ${w.m.stateReason ?? ''})`);
        suspendMs.push(Date.now() - t0);
        const t1 = Date.now();
        const a = await firstAnswer(req, t1, ANSWER_DEADLINE_MS);
        samples.push(a.ms);
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
  } finally {
    await s.terminate(m.id).catch(() => undefined);
  }
  return { total: summarize(samples, failures), suspendMs };
}

export async function checkLatency(s: Session): Promise<{ probes: Probe[]; data: Record<string, unknown> }> {
  const n = s.opts.launches;
  const l = await launches(s, n);
  const r = await resumes(s, n);
  return {
    probes: [probe('launch', 'RunMicrovm', l.total, n), probe('auto-resume', 'request to a SUSPENDED microVM', r.total, n)],
    data: {
      launch: { ...l.total, runMicrovmMs: l.api },
      resume: { ...r.total, suspendMs: r.suspendMs, suspendP50: percentile(r.suspendMs, 50) },
    },
  };
}
