// One microVM: facts, state history with reasons, its log following live, the web shell, and a
// curl command with a fresh endpoint token.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, fmtSeconds, fmtTime, listen, withTenant } from '../api.js';
import { errorText, html, type Session } from '../html.js';
import { MicrovmActions, type MicrovmRow } from './microvms.js';
import { Shell } from './shell.js';

interface Detail extends MicrovmRow {
  stateChangedAt: string | null;
  runningSeconds: number;
  suspendedSeconds: number;
  maximumDurationSeconds: number;
  history: Array<{ from: string; to: string; at: string }>;
}

function Curl({ id, tenant }: { id: string; tenant: string | undefined }) {
  const [cmd, setCmd] = useState('');
  const [error, setError] = useState('');
  const [copied, setCopied] = useState('');
  const make = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const ports = String(form.get('ports') ?? '')
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number);
    setError('');
    setCopied('');
    try {
      const r = await api<{ command: string }>('POST', withTenant(`/console/api/microvms/${id}/curl`, tenant), {
        ports,
        path: String(form.get('path') ?? '/'),
        minutes: Number(form.get('minutes') ?? 15),
      });
      setCmd(r.command);
      try {
        await navigator.clipboard.writeText(r.command);
        setCopied('Copied to the clipboard.');
      } catch {
        setCopied('Select the command to copy it.');
      }
    } catch (err) {
      setError(errorText(err));
    }
  };
  return html`<section aria-labelledby="curl-title">
    <h3 id="curl-title">Copy a curl command</h3>
    <form class="inline" onSubmit=${make}>
      <label>Ports (comma-separated)<input name="ports" value="8080" required /></label>
      <label>Path<input name="path" value="/" /></label>
      <label>Valid for (minutes)<input name="minutes" type="number" min="1" max="60" value="15" /></label>
      <button type="submit">Copy curl</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${cmd && html`<code class="cmd" data-testid="curl">${cmd}</code><p role="status" class="muted">${copied}</p>`}
  </section>`;
}

function Logs({ id, tenant }: { id: string; tenant: string | undefined }) {
  const [text, setText] = useState('');
  const pre = useRef<HTMLPreElement>(null);
  useEffect(
    () =>
      listen(withTenant(`/console/api/microvms/${id}/logs`, tenant), {
        log: (d) => setText((t) => (t + (d as { text: string }).text).slice(-200_000)),
      }),
    [id],
  );
  useEffect(() => {
    if (pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [text]);
  return html`<section aria-labelledby="logs-title">
    <h3 id="logs-title">Logs (following)</h3>
    <pre class="log" ref=${pre} tabindex="0" aria-label="MicroVM log" data-testid="microvm-log">${text || '(no output yet)'}</pre>
  </section>`;
}

export function MicrovmDetail({ id, tenant }: { id: string; tenant: string | undefined; session: Session }) {
  const [m, setM] = useState<Detail | null>(null);
  const [error, setError] = useState('');

  useEffect(() => {
    api<Detail>('GET', withTenant(`/console/api/microvms/${id}`, tenant))
      .then(setM)
      .catch((e) => setError(errorText(e)));
    return listen('/console/api/events', {
      state: (d) => {
        const e = d as { microvmId: string; from: string; to: string; at: string };
        if (e.microvmId !== id) return;
        setM((cur) => (cur ? { ...cur, state: e.to, history: [...cur.history, e] } : cur));
      },
    });
  }, [id]);

  if (error) return html`<p class="error" role="alert">${error}</p>`;
  if (!m) return html`<p>Loading…</p>`;
  const refresh = (n: MicrovmRow) => setM((cur) => (cur ? { ...cur, state: n.state, stateReason: n.stateReason } : cur));
  return html`
    <p><a href="#/microvms">← MicroVMs</a></p>
    <h2>MicroVM <code>${m.id}</code></h2>
    <dl class="facts">
      <dt>State</dt>
      <dd><span class=${`state state-${m.state}`} data-testid="detail-state">${m.state}</span></dd>
      <dt>Reason</dt>
      <dd>${m.stateReason ?? '—'}</dd>
      <dt>Image</dt>
      <dd><a href=${`#/images/${encodeURIComponent(m.image)}?tenant=${m.tenantId}`}>${m.image}</a> ${m.version}</dd>
      <dt>Front door</dt>
      <dd>${m.frontDoor === 'e2b' ? 'E2B' : 'Lambda MicroVMs'}</dd>
      <dt>Tenant</dt>
      <dd>${m.tenant}</dd>
      <dt>Endpoint</dt>
      <dd><code>${m.endpoint}</code></dd>
      <dt>Started</dt>
      <dd>${fmtTime(m.startedAt)}</dd>
      <dt>Time RUNNING / SUSPENDED</dt>
      <dd>${fmtSeconds(m.runningSeconds)} / ${fmtSeconds(m.suspendedSeconds)} (up to the last change)</dd>
    </dl>
    <${MicrovmActions} m=${m} onDone=${refresh} />
    <section aria-labelledby="hist-title">
      <h3 id="hist-title">State history</h3>
      ${m.history.length === 0
        ? html`<p class="muted">No changes seen since the daemon started.</p>`
        : html`<ol data-testid="history">
            ${m.history.map((h) => html`<li>${fmtTime(h.at)}: ${h.from} → <span class=${`state state-${h.to}`}>${h.to}</span></li>`)}
          </ol>`}
    </section>
    ${m.state !== 'TERMINATED' && html`<${Curl} id=${id} tenant=${tenant} />`}
    ${m.state === 'RUNNING' && html`<${Shell} id=${id} tenant=${tenant} />`}
    <${Logs} id=${id} tenant=${tenant} />
  `;
}
