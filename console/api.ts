// Talks to /console/api: JSON with the session's CSRF token on every change; a 401 means the
// session ended (expired or signed out), and the app goes back to sign-in.
let csrf = '';
let onSignedOut: () => void = () => {};

export function setCsrf(token: string): void {
  csrf = token;
}

export function whenSignedOut(fn: () => void): void {
  onSignedOut = fn;
}

export function signedOut(): void {
  csrf = '';
  onSignedOut();
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-cubby-csrf': csrf },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const data = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok) {
    const err = new ApiError(res.status, data.error?.code ?? 'UNKNOWN', data.error?.message ?? `HTTP ${res.status}`);
    if (res.status === 401 && err.code === 'CONSOLE_NO_SESSION') signedOut();
    throw err;
  }
  return data as T;
}

/** ?tenant=<id> for the operator acting on one tenant's resource. */
export function withTenant(path: string, tenantId: string | undefined): string {
  if (!tenantId) return path;
  return `${path}${path.includes('?') ? '&' : '?'}tenant=${encodeURIComponent(tenantId)}`;
}

/** A server-sent event stream; closed by the returned function (no polling in the page). */
export function listen(path: string, handlers: Record<string, (data: unknown) => void>, onBroken?: () => void): () => void {
  const es = new EventSource(path, { withCredentials: true });
  for (const [event, fn] of Object.entries(handlers)) {
    es.addEventListener(event, (e) => fn(JSON.parse((e as MessageEvent<string>).data)));
  }
  es.onerror = () => {
    // The browser reconnects by itself unless the server refused the stream (e.g. signed out).
    if (es.readyState === EventSource.CLOSED) {
      onBroken?.();
      void api('GET', '/console/api/session').catch(() => undefined);
    }
  };
  return () => es.close();
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export function fmtSeconds(s: number): string {
  const n = Math.round(s);
  if (n < 60) return `${n} s`;
  if (n < 3600) return `${Math.floor(n / 60)} min ${n % 60} s`;
  return `${Math.floor(n / 3600)} h ${Math.floor((n % 3600) / 60)} min`;
}

export function fmtTime(t: string | null | undefined): string {
  return t ? new Date(t).toLocaleString() : '';
}
