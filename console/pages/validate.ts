// `cubby validate` of one image version as a page: start a run (the daemon runs the real validator
// against real microVMs), follow it live, and read the report: each check, its probes, figures
// and what to look at when it does not pass.
import { useEffect, useState } from 'preact/hooks';
import { api, fmtBytes, fmtTime, listen, withTenant } from '../api.js';
import { errorText, html, type Session } from '../html.js';

interface Probe {
  name: string;
  status: 'PASS' | 'FAIL' | 'WARN' | 'N.A.';
  detail: string;
}

interface Check {
  id: string;
  title: string;
  status: 'PASS' | 'FAIL';
  probes: Probe[];
  data: Record<string, unknown>;
  durationMs: number;
  error?: string;
}

interface Report {
  image: string;
  version?: string;
  startedAt: string;
  finishedAt: string;
  checks: Check[];
  cleanup: { launched: number; terminated: number; leftOver: string[] };
  passed: boolean;
}

interface Job {
  state: 'NONE' | 'RUNNING' | 'FINISHED' | 'FAILED';
  available?: boolean;
  startedAt?: string;
  finishedAt?: string | null;
  current?: string | null;
  checks?: Check[];
  report?: Report | null;
  error?: string | null;
  params?: { launches: number; port: number; path: string; crashWaitSeconds: number; only?: string[] };
}

const CHECKS: Array<[string, string]> = [
  ['build', 'Build time'],
  ['latency', 'Launch and resume latency'],
  ['idle-cost', 'Idle cost'],
  ['boundary', 'Tenant boundary'],
  ['cleanup', 'Crash, timeout and abandonment cleanup'],
];

/** What each check shows, and where to look when it does not pass. */
const HINTS: Record<string, string> = {
  build:
    'Time from the version’s build start to SUCCESSFUL: build, start, ready hook, snapshot. A failure means the version has no SUCCESSFUL build with timings: read its build log on the image page.',
  latency:
    'From RunMicrovm to the app’s first answer through the gateway, then from a request to a SUSPENDED microVM to its answer (auto-resume). No answer usually means the app does not listen on the port given, or the path answers 5xx.',
  'idle-cost':
    'What an idle RUNNING microVM really holds on the host, what a SUSPENDED one keeps on disk, and a day of the usage pattern at this daemon’s prices. A WARN on memory or CPU is an app that is busy while idle.',
  boundary:
    'Probed from inside a microVM launched with egress closed: host processes, a host-only file, the host’s addresses and ports must be invisible and unreachable. “N.A.” means the image lacks the tools to probe (timeout plus bash or nc). Egress to an outside target is probed only by ./cubby validate --egress-target on the host (the console does not have the daemon connect to an address a tenant names).',
  cleanup:
    'An app killed from its shell, a microVM past its maximum duration, and one left idle: each must end, and nothing may be left running. A WARN on a killed app means it stays RUNNING until its idle policy or maximum duration reclaims it.',
};

function ms(n: unknown): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  return n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`;
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
}

/** The check's key measurements, labelled. */
function figures(c: Check): Array<[string, string]> {
  const d = c.data;
  const out: Array<[string, string]> = [];
  if (c.id === 'build') {
    if (d.version) out.push(['Version', String(d.version)]);
    if (d.buildMs !== undefined) out.push(['Build start to SUCCESSFUL', ms(d.buildMs)]);
    if (d.totalMs !== undefined) out.push(['Including queued', ms(d.totalMs)]);
    const snap = obj(d.snapshot);
    if (typeof snap.memoryBytes === 'number') out.push(['Memory snapshot', fmtBytes(snap.memoryBytes)]);
    if (typeof snap.diskBytes === 'number') out.push(['Disk snapshot', fmtBytes(snap.diskBytes)]);
  } else if (c.id === 'latency') {
    const l = obj(d.launch);
    const r = obj(d.resume);
    if (l.p50 !== undefined) out.push(['Launch p50 / p95', `${ms(l.p50)} / ${ms(l.p95)}`]);
    if (r.p50 !== undefined) out.push(['Auto-resume p50 / p95', `${ms(r.p50)} / ${ms(r.p95)}`]);
    if (r.suspendP50 !== undefined) out.push(['Suspend p50', ms(r.suspendP50)]);
  } else if (c.id === 'idle-cost') {
    const idle = obj(d.idle);
    const day = obj(d.day);
    const prices = obj(d.prices);
    const cur = typeof prices.currency === 'string' ? prices.currency : '';
    if (typeof idle.memoryBytes === 'number') out.push(['Idle RUNNING memory', fmtBytes(idle.memoryBytes)]);
    if (typeof idle.cpuFraction === 'number') out.push(['Idle RUNNING CPU', `${(idle.cpuFraction * 100).toFixed(1)} % of a core`]);
    const sus = obj(d.suspended);
    if (typeof sus.snapshotBytes === 'number') out.push(['SUSPENDED on disk', fmtBytes(sus.snapshotBytes)]);
    if (typeof day.total === 'number') out.push(['A day of the pattern', `${day.total.toPrecision(3)} ${cur}`]);
    if (typeof day.alwaysRunning === 'number') out.push(['Never suspended', `${day.alwaysRunning.toPrecision(3)} ${cur}`]);
  } else if (c.id === 'boundary') {
    const f = obj(d.findings);
    if (typeof f.tool === 'string') out.push(['Network probe tool', f.tool]);
    if (Array.isArray(f.net)) out.push(['Host address:port pairs tried', String(f.net.length)]);
    if (typeof d.listenerAccepted === 'number') out.push(['Connections reaching the test listener', String(d.listenerAccepted)]);
  } else if (c.id === 'cleanup') {
    for (const [name, v] of Object.entries(d)) {
      const x = obj(v);
      if (Array.isArray(x.statesSeen))
        out.push([name, `${x.statesSeen.join(' → ')}${typeof x.seconds === 'number' ? ` in ${x.seconds.toFixed(1)} s` : ''}`]);
    }
  }
  return out;
}

function resultLine(r: Report): string {
  const passed = r.checks.filter((c) => c.status === 'PASS').length;
  const warned = r.checks.flatMap((c) => c.probes).filter((x) => x.status === 'WARN').length;
  const left = r.cleanup.leftOver.length > 0 ? ', microVMs left running' : '';
  return `Result: ${r.passed ? 'PASS' : 'FAIL'} (${passed} of ${r.checks.length} checks passed${warned ? `, ${warned} warning(s)` : ''}${left})`;
}

function Status({ s }: { s: string }) {
  const cls = s === 'PASS' ? 'ok' : s === 'FAIL' ? 'bad' : s === 'WARN' ? 'warn' : 'na';
  return html`<span class=${`badge badge-${cls}`}>${s}</span>`;
}

function CheckView({ c }: { c: Check }) {
  const f = figures(c);
  return html`<section class="check" aria-labelledby=${`check-${c.id}`} data-testid=${`check-${c.id}`} data-status=${c.status}>
    <h3 id=${`check-${c.id}`}><${Status} s=${c.status} /> ${c.title} <span class="muted">(${ms(c.durationMs)})</span></h3>
    ${c.error && html`<p class="error">Could not run: ${c.error}</p>`}
    ${
      c.probes.length > 0 &&
      html`<div class="table-wrap">
        <table>
          <caption class="sr-only">
            Probes of ${c.title}
          </caption>
          <thead>
            <tr>
              <th scope="col">Result</th>
              <th scope="col">Probe</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            ${c.probes.map(
              (p) =>
                html`<tr>
                  <td><${Status} s=${p.status} /></td>
                  <th scope="row">${p.name}</th>
                  <td class="detail">${p.detail}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>`
    }
    ${
      f.length > 0 &&
      html`<dl class="facts">
        ${f.map(
          ([k, v]) =>
            html`<dt>${k}</dt>
              <dd>${v}</dd>`,
        )}
      </dl>`
    }
    <p class="hint muted">${HINTS[c.id] ?? ''}</p>
    <details>
      <summary>All measurements (JSON)</summary>
      <pre class="log">${JSON.stringify(c.data, null, 2)}</pre>
    </details>
  </section>`;
}

export function Validate({ name, version, tenant }: { name: string; version: string; tenant: string | undefined; session: Session }) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const base = `/console/api/images/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/validation`;

  // The job as it stands, then every change while it runs (server-sent events, no polling); a new
  // run (seq) follows again.
  const [seq, setSeq] = useState(0);
  useEffect(() => {
    api<Job>('GET', withTenant(base, tenant))
      .then((j) => setJob((old) => ({ ...j, ...(old && old.state !== 'NONE' ? old : {}), available: j.available })))
      .catch((e) => setError(errorText(e)));
  }, [name, version]);
  useEffect(() => {
    let stop = () => {};
    stop = listen(withTenant(`${base}/events`, tenant), {
      job: (d) => setJob((j) => ({ ...(j ?? {}), ...(d as Job) })),
      end: () => stop(),
    });
    return () => stop();
  }, [name, version, seq]);

  const start = async (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    setError('');
    setBusy(true);
    try {
      const only = CHECKS.map(([id]) => id).filter((id) => data.get(`check-${id}`) === 'on');
      const j = await api<Job>('POST', withTenant(base, tenant), {
        launches: Number(data.get('launches')),
        port: Number(data.get('port')),
        path: String(data.get('path') ?? '/'),
        crashWaitSeconds: Number(data.get('crashWait')),
        ...(only.length < CHECKS.length ? { only } : {}),
      });
      setJob((old) => ({ ...j, available: old?.available ?? true }));
      setSeq((n) => n + 1);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const running = job?.state === 'RUNNING';
  const report = job?.report ?? null;
  const checks = report?.checks ?? job?.checks ?? [];
  const p = job?.params;
  const back = `#/images/${encodeURIComponent(name)}${tenant ? `?tenant=${encodeURIComponent(tenant)}` : ''}`;
  return html`
    <p><a href=${back}>← Image ${name}</a></p>
    <h2>Validate <code>${name}</code> version ${version}</h2>
    <p class="muted">
      The same checks as <code>./cubby validate</code>, run by the daemon through the API as this tenant: they launch, time, suspend and
      terminate real microVMs of this version (about a minute or two), and terminate everything they launched.
    </p>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${job?.available === false && html`<p class="error">This daemon cannot run the validator from the console (TLS listener); use <code>./cubby validate</code>.</p>`}
    <form class="inline" onSubmit=${start} aria-label="Validation settings">
      <label>Launches timed<input name="launches" type="number" min="1" max="10" value=${p?.launches ?? 3} required /></label>
      <label>App port<input name="port" type="number" min="1" max="65535" value=${p?.port ?? 8080} required /></label>
      <label>Path<input name="path" value=${p?.path ?? '/'} required pattern="/\\S*" /></label>
      <label>Crash wait (s)<input name="crashWait" type="number" min="1" max="120" value=${p?.crashWaitSeconds ?? 10} required /></label>
      <fieldset class="checks">
        <legend>Checks</legend>
        ${CHECKS.map(
          ([id, label]) =>
            html`<label class="check-box"
              ><input type="checkbox" name=${`check-${id}`} checked=${!p?.only || p.only.includes(id)} /> ${label}</label
            >`,
        )}
      </fieldset>
      <button type="submit" disabled=${busy || running || job?.available === false}>${running ? 'Running…' : 'Run validation'}</button>
    </form>
    <p role="status" data-testid="validate-status">
      ${
        job === null
          ? 'Loading…'
          : job.state === 'NONE'
            ? 'Not validated since the daemon started.'
            : job.state === 'RUNNING'
              ? `Running since ${fmtTime(job.startedAt)}: ${checks.length} check(s) done${job.current ? `, now ${job.current}` : ''}…`
              : job.state === 'FAILED'
                ? `The run failed: ${job.error ?? ''}`
                : `Finished ${fmtTime(job.finishedAt)}.`
      }
    </p>
    ${
      report &&
      html`<section aria-labelledby="v-result" class=${`result ${report.passed ? 'result-pass' : 'result-fail'}`}>
        <h3 id="v-result" data-testid="validate-result">${resultLine(report)}</h3>
        <p>
          ${`Version ${report.version ?? version}, ${fmtTime(report.startedAt)} to ${fmtTime(report.finishedAt)}. `}
          ${`Cleanup: launched ${report.cleanup.launched} microVM(s), terminated ${report.cleanup.terminated} at the end; `}
          ${
            report.cleanup.leftOver.length === 0
              ? 'nothing left running.'
              : html`<strong>left running: ${report.cleanup.leftOver.join(', ')}</strong>`
          }
        </p>
      </section>`
    }
    <div data-testid="validate-report">${checks.map((c) => html`<${CheckView} key=${c.id} c=${c} />`)}</div>
  `;
}
