// MicroVMs of both front doors, live: the list is loaded once and then kept current by the
// server's state-change events.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, listen, withTenant } from '../api.js';
import { errorText, html, isOperator, type Session } from '../html.js';

export interface MicrovmRow {
  id: string;
  tenantId: string;
  tenant: string;
  image: string;
  version: string;
  state: string;
  stateReason: string | null;
  frontDoor: 'lambda' | 'e2b';
  startedAt: string;
  endpoint: string;
}

interface ImageRow {
  name: string;
  tenantId: string;
  tenant: string;
  latestActiveVersion: string | null;
}

export function MicrovmActions({ m, onDone }: { m: MicrovmRow; onDone: (m: MicrovmRow) => void }) {
  const [busy, setBusy] = useState('');
  const [error, setError] = useState('');
  const act = async (action: string) => {
    setBusy(action);
    setError('');
    try {
      onDone(await api<MicrovmRow>('POST', withTenant(`/console/api/microvms/${m.id}/${action}`, m.tenantId)));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy('');
    }
  };
  const label = (a: string) => `${a[0]?.toUpperCase()}${a.slice(1)} ${m.id}`;
  return html`<div class="row">
    ${m.state === 'RUNNING' && html`<button class="secondary" aria-label=${label('suspend')} disabled=${!!busy} onClick=${() => act('suspend')}>Suspend</button>`}
    ${m.state === 'SUSPENDED' && html`<button class="secondary" aria-label=${label('resume')} disabled=${!!busy} onClick=${() => act('resume')}>Resume</button>`}
    ${m.state !== 'TERMINATED' &&
    m.state !== 'TERMINATING' &&
    html`<button class="danger" aria-label=${label('terminate')} disabled=${!!busy} onClick=${() => act('terminate')}>Terminate</button>`}
    ${busy && html`<span class="muted" role="status">${busy}…</span>`}
    ${error && html`<span class="error" role="alert">${error}</span>`}
  </div>`;
}

export function Microvms({ session }: { session: Session }) {
  const [rows, setRows] = useState<MicrovmRow[] | null>(null);
  const [images, setImages] = useState<ImageRow[]>([]);
  const [error, setError] = useState('');
  const [filter, setFilter] = useState({ state: 'live', door: 'all', text: '' });
  const [launching, setLaunching] = useState(false);
  const operator = isOperator(session);
  const known = useRef(new Set<string>());
  known.current = new Set((rows ?? []).map((r) => r.id));

  const load = () =>
    api<{ items: MicrovmRow[] }>('GET', '/console/api/microvms')
      .then((r) => setRows(r.items))
      .catch((e) => setError(errorText(e)));

  useEffect(() => {
    void load();
    void api<{ items: ImageRow[] }>('GET', '/console/api/images').then((r) => setImages(r.items.filter((i) => i.latestActiveVersion)));
    return listen('/console/api/events', {
      state: (d) => {
        const e = d as { microvmId: string; to: string };
        // A microVM this page has not seen yet (launched elsewhere): fetch the list once.
        if (!known.current.has(e.microvmId)) {
          known.current.add(e.microvmId);
          void load();
          return;
        }
        setRows((rs) => (rs ? rs.map((r) => (r.id === e.microvmId ? { ...r, state: e.to } : r)) : rs));
      },
    });
  }, []);

  const shown = useMemo(
    () =>
      (rows ?? []).filter(
        (r) =>
          (filter.state === 'all' || (filter.state === 'live' ? r.state !== 'TERMINATED' : r.state === filter.state)) &&
          (filter.door === 'all' || r.frontDoor === filter.door) &&
          (!filter.text || `${r.id} ${r.image} ${r.tenant}`.includes(filter.text)),
      ),
    [rows, filter],
  );

  const launch = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const [tenantId = '', image = ''] = String(form.get('image') ?? '').split('\u0000');
    setLaunching(true);
    setError('');
    try {
      const m = await api<MicrovmRow>('POST', withTenant('/console/api/microvms', operator ? tenantId : undefined), {
        image,
        idleMinutes: Number(form.get('idleMinutes')),
        suspendedHours: Number(form.get('suspendedHours')),
        autoResume: form.get('autoResume') === 'on',
      });
      setRows((rs) => (rs?.some((r) => r.id === m.id) ? rs : [m, ...(rs ?? [])]));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setLaunching(false);
    }
  };

  const update = (m: MicrovmRow) => setRows((rs) => (rs ?? []).map((r) => (r.id === m.id ? { ...r, state: m.state } : r)));

  return html`
    <h2>MicroVMs and sandboxes</h2>
    <section aria-labelledby="launch-title">
      <h3 id="launch-title">Launch</h3>
      <form class="inline" onSubmit=${launch}>
        <label
          >Image
          <select name="image" required>
            ${images.map(
              (i) => html`<option value=${`${i.tenantId}\u0000${i.name}`}>${operator ? `${i.tenant} / ` : ''}${i.name} (${i.latestActiveVersion})</option>`,
            )}
          </select>
        </label>
        <label>Suspend after idle (minutes)<input name="idleMinutes" type="number" min="1" value="15" required /></label>
        <label>Terminate after suspended (hours)<input name="suspendedHours" type="number" min="1" value="24" required /></label>
        <label><span>Resume on traffic</span><input name="autoResume" type="checkbox" checked /></label>
        <button type="submit" disabled=${launching || images.length === 0}>${launching ? 'Launching…' : 'Launch'}</button>
      </form>
      ${images.length === 0 && html`<p class="muted">No image is built yet: create one under Images.</p>`}
    </section>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <section aria-labelledby="list-title">
      <h3 id="list-title">List</h3>
      <form class="inline" role="search" onSubmit=${(e: Event) => e.preventDefault()}>
        <label
          >State
          <select value=${filter.state} onChange=${(e: Event) => setFilter({ ...filter, state: (e.target as HTMLSelectElement).value })}>
            <option value="live">Not terminated</option>
            <option value="all">All</option>
            ${['PENDING', 'RUNNING', 'SUSPENDING', 'SUSPENDED', 'TERMINATING', 'TERMINATED'].map((s) => html`<option value=${s}>${s}</option>`)}
          </select>
        </label>
        <label
          >Front door
          <select value=${filter.door} onChange=${(e: Event) => setFilter({ ...filter, door: (e.target as HTMLSelectElement).value })}>
            <option value="all">Both</option>
            <option value="lambda">Lambda MicroVMs</option>
            <option value="e2b">E2B</option>
          </select>
        </label>
        <label
          >Search
          <input type="search" value=${filter.text} onInput=${(e: Event) => setFilter({ ...filter, text: (e.target as HTMLInputElement).value })} />
        </label>
      </form>
      ${rows === null
        ? html`<p>Loading…</p>`
        : html`<div class="table-wrap">
            <table>
              <caption class="skip">MicroVMs</caption>
              <thead>
                <tr>
                  <th scope="col">ID</th>
                  ${operator && html`<th scope="col">Tenant</th>`}
                  <th scope="col">Image</th>
                  <th scope="col">Front door</th>
                  <th scope="col">State</th>
                  <th scope="col">Started</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                ${shown.map(
                  (m) => html`<tr data-microvm=${m.id}>
                    <td><a href=${`#/microvms/${m.id}?tenant=${m.tenantId}`}>${m.id}</a></td>
                    ${operator && html`<td>${m.tenant}</td>`}
                    <td>${m.image}:${m.version}</td>
                    <td>${m.frontDoor === 'e2b' ? 'E2B' : 'Lambda'}</td>
                    <td><span class=${`state state-${m.state}`} data-testid="state">${m.state}</span></td>
                    <td>${new Date(m.startedAt).toLocaleString()}</td>
                    <td><${MicrovmActions} m=${m} onDone=${update} /></td>
                  </tr>`,
                )}
              </tbody>
            </table>
          </div>
          ${shown.length === 0 && html`<p class="muted">Nothing matches.</p>`}`}
    </section>
  `;
}
