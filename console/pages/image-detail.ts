// One image: its versions and builds, and the build log streaming live while a build runs.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, fmtTime, listen, withTenant } from '../api.js';
import { errorText, html, type Session } from '../html.js';

interface Version {
  version: string;
  state: string;
  status: string;
  stateReason: string | null;
  baseImage: string;
  memoryMiB: number;
  vcpus: number;
  createdAt: string;
  builds: Array<{ id: string; state: string; stateReason: string | null; createdAt: string }>;
}

interface Detail {
  name: string;
  tenantId: string;
  state: string;
  latestActiveVersion: string | null;
  versions: Version[];
}

function BuildLog({ name, version, tenant, onEnd }: { name: string; version: string; tenant: string | undefined; onEnd: () => void }) {
  const [text, setText] = useState('');
  const [state, setState] = useState('');
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    setText('');
    let stop = () => {};
    stop = listen(withTenant(`/console/api/images/${encodeURIComponent(name)}/versions/${version}/log`, tenant), {
      log: (d) => setText((t) => t + (d as { text: string }).text),
      state: (d) => setState((d as { state: string }).state),
      end: () => {
        stop();
        onEnd();
      },
    });
    return () => stop();
  }, [name, version]);
  useEffect(() => {
    if (pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [text]);
  return html`<section aria-labelledby="log-title">
    <h3 id="log-title">Build log of ${version} <span class=${`state state-${state}`} data-testid="build-state">${state}</span></h3>
    <pre class="log" ref=${pre} tabindex="0" aria-label="Build log" aria-live="off" data-testid="build-log">${text || '(waiting for output)'}</pre>
  </section>`;
}

/** The version's validate page (the report of `cubby validate`, run from the console). */
function validateHref(d: Detail, version: string): string {
  return `#/images/${encodeURIComponent(d.name)}/validate?version=${encodeURIComponent(version)}&tenant=${encodeURIComponent(d.tenantId)}`;
}

export function ImageDetail({ name, tenant }: { name: string; tenant: string | undefined; session: Session }) {
  const [d, setD] = useState<Detail | null>(null);
  const [error, setError] = useState('');
  const [shown, setShown] = useState('');
  const load = () =>
    api<Detail>('GET', withTenant(`/console/api/images/${encodeURIComponent(name)}`, tenant))
      .then((r) => {
        setD(r);
        setShown((s) => s || (r.versions[r.versions.length - 1]?.version ?? ''));
      })
      .catch((e) => setError(errorText(e)));
  useEffect(() => void load(), [name]);

  if (error) return html`<p class="error" role="alert">${error}</p>`;
  if (!d) return html`<p>Loading…</p>`;
  return html`
    <p><a href="#/images">← Images</a></p>
    <h2>Image <code>${d.name}</code> <span class=${`state state-${d.state}`}>${d.state}</span></h2>
    <div class="table-wrap"><table>
      <thead><tr><th scope="col">Version</th><th scope="col">State</th><th scope="col">Status</th><th scope="col">Base</th>
        <th scope="col">Size</th><th scope="col">Builds</th><th scope="col">Actions</th></tr></thead>
      <tbody>
        ${d.versions.map(
          (v) => html`<tr>
            <td>${v.version}</td>
            <td><span class=${`state state-${v.state}`}>${v.state}</span>${v.stateReason && html`<div class="muted">${v.stateReason}</div>`}</td>
            <td>${v.status}</td>
            <td>${v.baseImage}</td>
            <td>${v.memoryMiB} MiB, ${v.vcpus} vCPU</td>
            <td>${v.builds.map((b) => html`<div><code>${b.id}</code> <span class=${`state state-${b.state}`}>${b.state}</span> ${fmtTime(b.createdAt)}</div>`)}</td>
            <td class="actions">
              <button class="secondary" aria-label=${`Show the build log of ${v.version}`} onClick=${() => setShown(v.version)}>Show log</button>
              ${v.state === 'SUCCESSFUL' &&
              html`<a class="button-link" href=${validateHref(d, v.version)} aria-label=${`Validate version ${v.version}`}>Validate</a>`}
            </td>
          </tr>`,
        )}
      </tbody>
    </table></div>
    ${shown && html`<${BuildLog} name=${d.name} version=${shown} tenant=${tenant} onEnd=${load} />`}
  `;
}
