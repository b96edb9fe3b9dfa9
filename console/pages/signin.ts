// Sign-in: a tenant's access key pair or E2B key; the operator's one-time link arrives as #login=.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { errorText, html, type Session } from '../html.js';

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const signIn = async (body: Record<string, string>) => {
    setBusy(true);
    setError('');
    try {
      onSignedIn(await api<Session>('POST', '/console/api/session', body));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    const m = /^#login=([A-Za-z0-9_-]+)/.exec(location.hash);
    if (m?.[1]) {
      history.replaceState(null, '', location.pathname);
      void signIn({ login: m[1] });
    }
  }, []);

  const submit = (e: Event, fields: string[]) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    void signIn(Object.fromEntries(fields.map((f) => [f, String(form.get(f) ?? '').trim()])));
  };

  return html`
    <main id="main" class="signin">
      <h1>Sign in to Cubby</h1>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <form aria-labelledby="k-title" onSubmit=${(e: Event) => submit(e, ['accessKeyId', 'secretAccessKey'])}>
        <h2 id="k-title">With an access key pair</h2>
        <label>Access key ID<input name="accessKeyId" autocomplete="username" required /></label>
        <label>Secret access key<input name="secretAccessKey" type="password" autocomplete="current-password" required /></label>
        <button type="submit" disabled=${busy}>Sign in</button>
      </form>
      <form aria-labelledby="e-title" onSubmit=${(e: Event) => submit(e, ['e2bApiKey'])}>
        <h2 id="e-title">With an E2B API key</h2>
        <label>E2B API key<input name="e2bApiKey" type="password" autocomplete="off" required /></label>
        <button type="submit" disabled=${busy}>Sign in with E2B key</button>
      </form>
      <p class="muted">Operators: run <code>./cubby console-login</code> on the host and open the link it prints.</p>
    </main>
  `;
}
