// The console's shell: sign-in, navigation, and hash routes to the pages.
import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setCsrf, whenSignedOut } from './api.js';
import { html, isOperator, type Session } from './html.js';
import { SignIn } from './pages/signin.js';
import { Microvms } from './pages/microvms.js';
import { MicrovmDetail } from './pages/microvm-detail.js';
import { Images } from './pages/images.js';
import { ImageDetail } from './pages/image-detail.js';
import { Usage } from './pages/usage.js';
import { Operator } from './pages/operator.js';
import { Validate } from './pages/validate.js';

function route(): { path: string[]; query: URLSearchParams } {
  const raw = location.hash.replace(/^#\/?/, '');
  const [p = '', q = ''] = raw.split('?');
  return { path: p.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [where, setWhere] = useState(route());

  useEffect(() => {
    whenSignedOut(() => setSession(null));
    const onHash = () => setWhere(route());
    addEventListener('hashchange', onHash);
    api<Session>('GET', '/console/api/session')
      .then((s) => {
        setCsrf(s.csrf);
        setSession(s);
      })
      .catch(() => setSession(null));
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    const label = where.path[0] ?? 'microvms';
    document.title = `${label[0]?.toUpperCase()}${label.slice(1)} · Cubby console`;
    document.getElementById('main')?.focus();
  }, [where]);

  if (session === undefined) return html`<main><p>Loading…</p></main>`;
  if (session === null) {
    return html`<${SignIn}
      onSignedIn=${(s: Session) => {
        setCsrf(s.csrf);
        setSession(s);
        location.hash = '#/microvms';
      }}
    />`;
  }

  const [page = 'microvms', id, sub] = where.path;
  const tenant = where.query.get('tenant') ?? undefined;
  const links = [
    ['microvms', 'MicroVMs'],
    ['images', 'Images'],
    ['usage', 'Usage'],
    ...(isOperator(session) ? [['operator', 'Operator']] : []),
  ];
  const who = session.principal.kind === 'operator' ? 'operator' : `tenant ${session.principal.tenant}`;
  const signOut = async () => {
    await api('DELETE', '/console/api/session').catch(() => undefined);
    setSession(null);
  };
  let body;
  if (page === 'microvms' && id) body = html`<${MicrovmDetail} id=${id} tenant=${tenant} session=${session} />`;
  else if (page === 'images' && id && sub === 'validate')
    body = html`<${Validate} name=${id} version=${where.query.get('version') ?? ''} tenant=${tenant} session=${session} />`;
  else if (page === 'images' && id) body = html`<${ImageDetail} name=${id} tenant=${tenant} session=${session} />`;
  else if (page === 'images') body = html`<${Images} session=${session} />`;
  else if (page === 'usage') body = html`<${Usage} session=${session} />`;
  else if (page === 'operator' && isOperator(session)) body = html`<${Operator} />`;
  else body = html`<${Microvms} session=${session} />`;

  return html`
    <a class="skip" href="#main" onClick=${(e: Event) => (e.preventDefault(), document.getElementById('main')?.focus())}>Skip to content</a>
    <header>
      <h1>Cubby console</h1>
      <nav aria-label="Main">
        <ul>
          ${links.map(
            ([p, label]) => html`<li><a href=${`#/${p}`} aria-current=${page === p ? 'page' : undefined}>${label}</a></li>`,
          )}
        </ul>
      </nav>
      <div class="who"><span data-testid="who">Signed in as ${who}</span><button class="secondary" onClick=${signOut}>Sign out</button></div>
    </header>
    <main id="main" tabindex="-1">${body}</main>
  `;
}

const root = document.getElementById('app');
if (root) render(html`<${App} />`, root);
