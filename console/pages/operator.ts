// The operator's page: host capacity and daemon health, tenants and their access keys.
import { useEffect, useState } from 'preact/hooks';
import { api, fmtBytes, fmtSeconds, fmtTime } from '../api.js';
import { errorText, html } from '../html.js';
import type { HostStatus as Host } from '../../src/api/console/host-status.js';

interface TenantRow {
  id: string;
  name: string;
  accountId: string;
  keys: Array<{ accessKeyId: string; status: string; createdAt: string; revokedAt: string | null }>;
}

export function Operator() {
  const [host, setHost] = useState<Host | null>(null);
  const [tenants, setTenants] = useState<TenantRow[]>([]);
  const [error, setError] = useState('');
  const [secret, setSecret] = useState<{ accessKeyId: string; secretAccessKey: string } | null>(null);
  const load = () => {
    void api<Host>('GET', '/console/api/host').then(setHost, (e) => setError(errorText(e)));
    void api<{ items: TenantRow[] }>('GET', '/console/api/tenants').then(
      (r) => setTenants(r.items),
      (e) => setError(errorText(e)),
    );
  };
  useEffect(load, []);

  const createKey = async (t: TenantRow) => {
    try {
      setSecret(await api('POST', `/console/api/tenants/${t.id}/keys`));
      load();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const revoke = async (id: string) => {
    if (!confirm(`Revoke access key ${id}? Clients using it stop working at once.`)) return;
    try {
      await api('POST', `/console/api/keys/${id}/revoke`);
      load();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return html`
    <h2>Operator</h2>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <section aria-labelledby="host-title">
      <h3 id="host-title">Host capacity and health</h3>
      ${
        host &&
        html`<dl class="facts" data-testid="host">
          <dt>RUNNING</dt>
          <dd>${host.running} (${host.idleRunning} idle for a minute or more)</dd>
          <dt>SUSPENDED</dt>
          <dd>${host.suspended}</dd>
          <dt>Disk left</dt>
          <dd>${fmtBytes(host.diskFreeBytes)} of ${fmtBytes(host.diskTotalBytes)}</dd>
          <dt>Memory available</dt>
          <dd>${fmtBytes(host.memoryAvailableBytes)}</dd>
          <dt>Daemon up for</dt>
          <dd>${fmtSeconds(host.uptimeSeconds)}</dd>
          ${host.checks.map(
            (c) =>
              html`<dt>Check: ${c.name}</dt>
                <dd class=${c.ok ? 'state state-RUNNING' : 'error'}>${c.ok ? 'OK' : 'FAILING'} ${c.detail ?? ''}</dd>`,
          )}
        </dl>`
      }
    </section>
    ${
      secret &&
      html`<section role="alert" aria-labelledby="secret-title">
        <h3 id="secret-title">New access key (the secret is shown once)</h3>
        <dl class="facts">
          <dt>Access key ID</dt>
          <dd><code>${secret.accessKeyId}</code></dd>
          <dt>Secret</dt>
          <dd><code>${secret.secretAccessKey}</code></dd>
        </dl>
        <button class="secondary" onClick=${() => setSecret(null)}>Done</button>
      </section>`
    }
    <section aria-labelledby="tenants-title">
      <h3 id="tenants-title">Tenants and keys</h3>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Tenant</th>
              <th scope="col">Account</th>
              <th scope="col">Access keys</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            ${tenants.map(
              (t) =>
                html`<tr>
                  <td>${t.name}</td>
                  <td>${t.accountId}</td>
                  <td>
                    ${t.keys.map(
                      (k) =>
                        html`<div>
                          <code>${k.accessKeyId}</code>
                          <span class=${`state state-${k.status === 'ACTIVE' ? 'ACTIVE' : 'REVOKED'}`}>${k.status}</span>
                          <span class="muted">${fmtTime(k.createdAt)}</span>
                          ${k.status === 'ACTIVE' && html` <button class="danger" aria-label=${`Revoke key ${k.accessKeyId}`} onClick=${() => revoke(k.accessKeyId)}>Revoke</button>`}
                        </div>`,
                    )}
                  </td>
                  <td>
                    <button class="secondary" aria-label=${`Create an access key for ${t.name}`} onClick=${() => createKey(t)}>
                      Create key
                    </button>
                  </td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </section>
  `;
}
