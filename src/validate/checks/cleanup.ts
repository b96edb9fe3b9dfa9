/**
 * Check e: crash, timeout and abandonment. Three microVMs at once: one whose app is killed from
 * its shell (what state does it reach?), one with a short maximumDurationInSeconds (must end
 * TERMINATED), one with a short idle policy left alone (must be suspended, then TERMINATED).
 * Then ListMicrovms must show none of them left running.
 */
import type { Session } from '../session.js';
import type { Probe } from '../types.js';
import { requestOnce } from '../endpoint-http.js';
import { runShellScript } from '../shell-client.js';

const MAX_DURATION_S = 3;
const IDLE_S = 2;
const SUSPENDED_S = 2;
/** Slack for the policy clock and a terminate (runsc takes over a second to reap a sandbox). */
const SLACK_MS = 30_000;

/** Kills PID 1 (the app) and, should it survive, every process it can. */
const KILL_SCRIPT = 'kill 1 2>/dev/null; sleep 1; kill -9 1 2>/dev/null; kill -9 -1 2>/dev/null; sleep 1; exit 0\n';

async function crash(s: Session): Promise<{ probe: Probe; data: Record<string, unknown> }> {
  const m = await s.launch();
  const token = await s.token(m.id);
  await runShellScript(m.endpoint, await s.shellToken(m.id), KILL_SCRIPT, 15_000);
  const killedAt = Date.now();
  const w = await s.waitForState(m.id, ['TERMINATED', 'TERMINATING', 'SUSPENDED'], s.opts.crashWaitSeconds * 1000, 250);
  const answer = await requestOnce({ endpoint: m.endpoint, token, port: s.opts.port, path: s.opts.path, timeoutMs: 5000 }).then(
    (a) => a.status,
    (e: Error) => e.message,
  );
  const data = {
    microvmId: m.id,
    statesSeen: w.seen,
    stateReason: w.m.stateReason,
    afterMs: Date.now() - killedAt,
    endpointAnswer: answer,
  };
  let probe: Probe;
  if (w.reached) {
    probe = { name: 'app killed', status: 'PASS', detail: `reached ${w.m.state}${w.m.stateReason ? ` (${w.m.stateReason})` : ''}` };
  } else if (typeof answer === 'number' && answer < 500) {
    probe = {
      name: 'app killed',
      status: 'PASS',
      detail: `still ${w.m.state} and answering (${answer}): the app survived or was restarted inside`,
    };
  } else {
    probe = {
      name: 'app killed',
      status: 'WARN',
      detail: `still ${w.m.state} ${s.opts.crashWaitSeconds} s after its app died (endpoint: ${answer}); Cubby does not notice a dead app: it is reclaimed only by maximumDuration, idle policy or TerminateMicrovm`,
    };
  }
  if (w.m.state !== 'TERMINATED') {
    await s.terminate(m.id).catch(() => undefined);
    await s.waitForState(m.id, ['TERMINATED'], SLACK_MS, 250).catch(() => undefined);
  }
  return { probe, data };
}

async function timeout(s: Session): Promise<{ probe: Probe; data: Record<string, unknown> }> {
  const t0 = Date.now();
  const m = await s.launch({ maximumDurationInSeconds: MAX_DURATION_S });
  const w = await s.waitForState(m.id, ['TERMINATED'], MAX_DURATION_S * 1000 + SLACK_MS, 100);
  const after = (Date.now() - t0) / 1000;
  return {
    probe: w.reached
      ? {
          name: 'maximum duration',
          status: 'PASS',
          detail: `TERMINATED ${after.toFixed(1)} s after launch (maximumDurationInSeconds ${MAX_DURATION_S})${w.m.stateReason ? `: ${w.m.stateReason}` : ''}`,
        }
      : {
          name: 'maximum duration',
          status: 'FAIL',
          detail: `still ${w.m.state} ${after.toFixed(1)} s after launch with maximumDurationInSeconds ${MAX_DURATION_S}`,
        },
    data: { microvmId: m.id, statesSeen: w.seen, seconds: after, stateReason: w.m.stateReason },
  };
}

async function abandon(s: Session): Promise<{ probe: Probe; data: Record<string, unknown> }> {
  const t0 = Date.now();
  const m = await s.launch({
    idlePolicy: { maxIdleDurationSeconds: IDLE_S, suspendedDurationSeconds: SUSPENDED_S, autoResumeEnabled: true },
  });
  const w = await s.waitForState(m.id, ['TERMINATED'], (IDLE_S + SUSPENDED_S) * 1000 + SLACK_MS, 100);
  const after = (Date.now() - t0) / 1000;
  const via = w.seen.includes('SUSPENDED') ? ' via SUSPENDED' : '';
  return {
    probe: w.reached
      ? {
          name: 'abandoned',
          status: 'PASS',
          detail: `TERMINATED${via} ${after.toFixed(1)} s after launch (idle ${IDLE_S} s, suspended ${SUSPENDED_S} s)`,
        }
      : {
          name: 'abandoned',
          status: 'FAIL',
          detail: `still ${w.m.state} ${after.toFixed(1)} s after launch with idle ${IDLE_S} s, suspended ${SUSPENDED_S} s (seen: ${w.seen.join(' > ')})`,
        },
    data: { microvmId: m.id, statesSeen: w.seen, seconds: after, stateReason: w.m.stateReason },
  };
}

export async function checkCleanup(s: Session): Promise<{ probes: Probe[]; data: Record<string, unknown> }> {
  const settled = await Promise.allSettled([crash(s), timeout(s), abandon(s)]);
  const names = ['app killed', 'maximum duration', 'abandoned'];
  const probes: Probe[] = [];
  const data: Record<string, unknown> = {};
  const ids: string[] = [];
  settled.forEach((r, i) => {
    const name = names[i] ?? '';
    if (r.status === 'fulfilled') {
      probes.push(r.value.probe);
      data[name] = r.value.data;
      if (typeof r.value.data.microvmId === 'string') ids.push(r.value.data.microvmId);
    } else {
      probes.push({ name, status: 'FAIL', detail: `could not run: ${(r.reason as Error).message}` });
    }
  });
  const listed = await s.listAll();
  const left = listed.filter((m) => m.microvmId && ids.includes(m.microvmId) && m.state !== 'TERMINATED');
  probes.push(
    left.length === 0
      ? { name: 'nothing left running', status: 'PASS', detail: `ListMicrovms shows all ${ids.length} TERMINATED` }
      : {
          name: 'nothing left running',
          status: 'FAIL',
          detail: `ListMicrovms still shows ${left.map((m) => `${m.microvmId} ${m.state}`).join(', ')}`,
        },
  );
  return { probes, data };
}
