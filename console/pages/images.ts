// Images: the list, delete, and create from an uploaded zip or a folder with a Dockerfile.
import { useEffect, useState } from 'preact/hooks';
import { api, withTenant } from '../api.js';
import { errorText, go, html, isOperator, type Session } from '../html.js';

interface ImageRow {
  name: string;
  tenantId: string;
  tenant: string;
  state: string;
  latestActiveVersion: string | null;
  latestFailedVersion: string | null;
}

interface Managed {
  name: string;
  versions: Array<{ version: string; status: string }>;
}

async function base64(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function Images({ session }: { session: Session }) {
  const [rows, setRows] = useState<ImageRow[] | null>(null);
  const [managed, setManaged] = useState<Managed[]>([]);
  const [tenants, setTenants] = useState<Array<{ id: string; name: string }>>([]);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const operator = isOperator(session);

  const load = () =>
    api<{ items: ImageRow[] }>('GET', '/console/api/images')
      .then((r) => setRows(r.items))
      .catch((e) => setError(errorText(e)));
  useEffect(() => {
    void load();
    void api<{ items: Managed[] }>('GET', '/console/api/managed').then((r) => setManaged(r.items));
    if (operator) void api<{ items: Array<{ id: string; name: string }> }>('GET', '/console/api/tenants').then((r) => setTenants(r.items));
  }, []);

  const create = async (e: Event) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const data = new FormData(form);
    const zip = (form.elements.namedItem('zip') as HTMLInputElement).files?.[0];
    const folder = [...((form.elements.namedItem('folder') as HTMLInputElement).files ?? [])];
    setError('');
    if (!zip && folder.length === 0) {
      setError('Choose a zip or a folder with a Dockerfile.');
      return;
    }
    setBusy(true);
    try {
      const body: Record<string, unknown> = {
        name: String(data.get('name') ?? ''),
        baseImage: String(data.get('baseImage') ?? ''),
        memoryMiB: Number(data.get('memoryMiB')),
        vcpus: Number(data.get('vcpus')),
        hooks: data.get('hooks') === 'on',
        hookPort: Number(data.get('hookPort')),
      };
      if (zip) body.zip = await base64(zip);
      else body.files = Object.fromEntries(await Promise.all(folder.map(async (f) => [f.webkitRelativePath || f.name, await base64(f)])));
      const tenant = operator ? String(data.get('tenant') ?? '') : undefined;
      const r = await api<{ name: string }>('POST', withTenant('/console/api/images', tenant), body);
      go(`#/images/${encodeURIComponent(r.name)}${tenant ? `?tenant=${tenant}` : ''}`);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const remove = async (i: ImageRow) => {
    if (!confirm(`Delete image ${i.name} and all its versions?`)) return;
    try {
      await api('DELETE', withTenant(`/console/api/images/${encodeURIComponent(i.name)}`, i.tenantId));
      await load();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return html`
    <h2>Images</h2>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <section aria-labelledby="img-list">
      <h3 id="img-list">Your images</h3>
      ${rows === null
        ? html`<p>Loading…</p>`
        : rows.length === 0
          ? html`<p class="muted">No images yet.</p>`
          : html`<div class="table-wrap"><table>
              <thead><tr>
                <th scope="col">Name</th>${operator && html`<th scope="col">Tenant</th>`}<th scope="col">State</th>
                <th scope="col">Latest active</th><th scope="col">Latest failed</th><th scope="col">Actions</th>
              </tr></thead>
              <tbody>
                ${rows.map(
                  (i) => html`<tr>
                    <td><a href=${`#/images/${encodeURIComponent(i.name)}?tenant=${i.tenantId}`}>${i.name}</a></td>
                    ${operator && html`<td>${i.tenant}</td>`}
                    <td><span class=${`state state-${i.state}`}>${i.state}</span></td>
                    <td>${i.latestActiveVersion ?? '—'}</td>
                    <td>${i.latestFailedVersion ?? '—'}</td>
                    <td><button class="danger" aria-label=${`Delete image ${i.name}`} onClick=${() => remove(i)}>Delete</button></td>
                  </tr>`,
                )}
              </tbody>
            </table></div>`}
    </section>
    <section aria-labelledby="img-create">
      <h3 id="img-create">Create an image</h3>
      <form class="inline" onSubmit=${create}>
        ${operator &&
        html`<label>Tenant<select name="tenant" required>${tenants.map((t) => html`<option value=${t.id}>${t.name}</option>`)}</select></label>`}
        <label>Name<input name="name" required pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,127}" /></label>
        <label
          >Managed base
          <select name="baseImage" required>
            ${managed.map((m) => html`<option value=${m.name}>${m.name}</option>`)}
          </select>
        </label>
        <label>Memory (MiB)<input name="memoryMiB" type="number" min="128" value="512" required /></label>
        <label>vCPUs<input name="vcpus" type="number" min="1" value="1" required /></label>
        <label>Zip with a Dockerfile<input name="zip" type="file" accept=".zip,application/zip" /></label>
        <label>…or a folder<input name="folder" type="file" webkitdirectory multiple /></label>
        <label><span>Lifecycle hooks</span><input name="hooks" type="checkbox" /></label>
        <label>Hook port<input name="hookPort" type="number" min="1" max="65535" value="9000" /></label>
        <button type="submit" disabled=${busy}>${busy ? 'Uploading…' : 'Create image'}</button>
      </form>
      <p class="muted">The Dockerfile's <code>FROM</code> names the managed base; the build log streams on the next page.</p>
    </section>
  `;
}
