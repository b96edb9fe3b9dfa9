// Usage per tenant and per microVM, with hourly charts (uPlot) of RUNNING/SUSPENDED time, cost
// and checkpoint bytes.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { api, fmtBytes, fmtSeconds } from '../api.js';
import { errorText, html, type Session } from '../html.js';

interface Point {
  at: string;
  runningSeconds: number;
  suspendedSeconds: number;
  cost: number;
  checkpointBytes: number;
}

interface MicrovmUsage {
  id: string;
  image: string;
  version: string;
  state: string;
  runningSeconds: number;
  suspendedSeconds: number;
  snapshotBytes: number;
  cost: { total: number };
}

interface Series {
  label: string;
  pick: (p: Point) => number;
  color: string;
}

interface TenantUsage {
  tenantId: string;
  tenant: string;
  report: {
    totals: { runningSeconds: number; suspendedSeconds: number; snapshotBytes: number; cost: { total: number } };
    microvms: MicrovmUsage[];
  };
  series: Point[];
}

function Chart({ title, series, points, fmt }: { title: string; series: Series[]; points: Point[]; fmt: (n: number) => string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    // Fits the box (a narrow screen too); the figure scrolls sideways rather than the page.
    const width = Math.max(240, Math.min(box.current.clientWidth || 600, 900));
    const data: uPlot.AlignedData = [points.map((p) => Date.parse(p.at) / 1000), ...series.map((s) => points.map(s.pick))];
    const plot = new uPlot(
      {
        title,
        width,
        height: 220,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
        axes: [{ stroke: 'currentColor' }, { stroke: 'currentColor', size: 80, values: (_u, splits) => splits.map(fmt) }],
      },
      data,
      box.current,
    );
    return () => plot.destroy();
  }, [points]);
  return html`<figure class="chart" ref=${box} aria-label=${title}></figure>`;
}

export function Usage(_: { session: Session }) {
  const [tenants, setTenants] = useState<TenantUsage[] | null>(null);
  const [hours, setHours] = useState(24);
  const [error, setError] = useState('');
  useEffect(() => {
    api<{ tenants: TenantUsage[] }>('GET', `/console/api/usage?hours=${hours}`)
      .then((r) => setTenants(r.tenants))
      .catch((e) => setError(errorText(e)));
  }, [hours]);
  if (error) return html`<p class="error" role="alert">${error}</p>`;
  return html`
    <h2>Usage</h2>
    <div class="row"><label
      >Window
      <select value=${hours} onChange=${(e: Event) => setHours(Number((e.target as HTMLSelectElement).value))}>
        <option value="6">Last 6 hours</option>
        <option value="24">Last 24 hours</option>
        <option value="168">Last 7 days</option>
      </select>
    </label></div>
    ${tenants === null && html`<p>Loading…</p>`}
    ${(tenants ?? []).map(
      (t) => html`<section aria-labelledby=${`u-${t.tenantId}`}>
        <h3 id=${`u-${t.tenantId}`}>Tenant ${t.tenant}</h3>
        <dl class="facts">
          <dt>RUNNING time</dt><dd>${fmtSeconds(t.report.totals.runningSeconds)}</dd>
          <dt>SUSPENDED time</dt><dd>${fmtSeconds(t.report.totals.suspendedSeconds)}</dd>
          <dt>Checkpoints on disk</dt><dd>${fmtBytes(t.report.totals.snapshotBytes)}</dd>
          <dt>Cost estimate</dt><dd data-testid="cost">${t.report.totals.cost.total.toFixed(4)}</dd>
        </dl>
        <${Chart}
          title="Seconds per hour"
          points=${t.series}
          fmt=${(n: number) => `${Math.round(n)} s`}
          series=${[
            { label: 'RUNNING s', pick: (p: Point) => p.runningSeconds, color: '#1a73e8' },
            { label: 'SUSPENDED s', pick: (p: Point) => p.suspendedSeconds, color: '#e37400' },
          ]}
        />
        <${Chart} title="Cost per hour" points=${t.series} fmt=${(n: number) => (n === 0 ? '0' : n.toPrecision(2))} series=${[{ label: 'cost', pick: (p: Point) => p.cost, color: '#188038' }]} />
        <${Chart}
          title="Checkpoint bytes held per hour"
          points=${t.series}
          fmt=${fmtBytes}
          series=${[{ label: 'bytes', pick: (p: Point) => p.checkpointBytes, color: '#9334e6' }]}
        />
        <div class="table-wrap"><table>
          <thead><tr><th scope="col">MicroVM</th><th scope="col">Image</th><th scope="col">State</th><th scope="col">RUNNING</th>
            <th scope="col">SUSPENDED</th><th scope="col">Checkpoint</th><th scope="col">Cost</th></tr></thead>
          <tbody>
            ${t.report.microvms.map(
              (m) => html`<tr>
                <td><a href=${`#/microvms/${m.id}?tenant=${t.tenantId}`}>${m.id}</a></td>
                <td>${m.image}:${m.version}</td>
                <td><span class=${`state state-${m.state}`}>${m.state}</span></td>
                <td>${fmtSeconds(m.runningSeconds)}</td>
                <td>${fmtSeconds(m.suspendedSeconds)}</td>
                <td>${fmtBytes(m.snapshotBytes)}</td>
                <td>${m.cost.total.toFixed(4)}</td>
              </tr>`,
            )}
          </tbody>
        </table></div>
      </section>`,
    )}
  `;
}
