/**
 * Keeps an app's cookies on its own endpoint. Every microVM's endpoint is a sibling under one
 * parent domain, so a `Set-Cookie` with `Domain=<parent>` (or any other host) would reach every
 * other tenant's endpoint in a browser (cookie tossing). A Domain attribute is therefore kept
 * only when it names exactly the host the request came to; any other is dropped, which leaves a
 * host-only cookie scoped to that host. Everything else of the cookie stays byte for byte.
 */
import type { RouteForm } from './route.js';

/**
 * The host an app's cookies may name in Domain: the request's own endpoint host (lower-cased,
 * without port or trailing dot). None for the header-routed E2B form: there the host is the
 * shared gateway domain itself, and a Domain naming it would cover every endpoint under it.
 */
export function cookieHostFor(hostHeader: string | undefined, form: RouteForm): string | undefined {
  if (form === 'e2b-headers' || !hostHeader) return undefined;
  const h = hostHeader.trim().toLowerCase();
  const colon = h.lastIndexOf(':');
  const name = colon >= 0 && !h.endsWith(']') ? h.slice(0, colon) : h;
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  return bare === '' ? undefined : bare;
}

/**
 * One Set-Cookie value with every Domain attribute dropped unless it names `ownHost`.
 * It is split on every ';' exactly as browsers do (RFC 6265 5.2: no quoting), so nothing a
 * browser would read as an attribute can hide inside a quoted value. Attribute names are matched
 * case-insensitively with surrounding whitespace ignored, as browsers do; a malformed Domain
 * (empty, quoted, no '=') is dropped too, which can only narrow the cookie.
 */
export function scopeSetCookie(value: string, ownHost: string | undefined): string {
  const parts = value.split(';');
  const kept = [parts[0] as string];
  for (const part of parts.slice(1)) {
    if (isForeignDomain(part, ownHost)) continue;
    kept.push(part);
  }
  return kept.length === parts.length ? value : kept.join(';');
}

export function scopeSetCookies(values: readonly string[], ownHost: string | undefined): string[] {
  return values.map((v) => scopeSetCookie(v, ownHost));
}

/**
 * Raw header pairs ([name, value, name, value, ...], as Node's rawHeaders) with each Set-Cookie
 * value scoped; header names matched in any case.
 */
export function scopeRawSetCookies(raw: readonly string[], ownHost: string | undefined): string[] {
  const out = [...raw];
  for (let i = 0; i + 1 < out.length; i += 2) {
    if ((out[i] as string).toLowerCase() === 'set-cookie') out[i + 1] = scopeSetCookie(out[i + 1] as string, ownHost);
  }
  return out;
}

function isForeignDomain(attribute: string, ownHost: string | undefined): boolean {
  const eq = attribute.indexOf('=');
  const name = (eq < 0 ? attribute : attribute.slice(0, eq)).trim().toLowerCase();
  if (name !== 'domain') return false;
  if (ownHost === undefined || eq < 0) return true;
  let domain = attribute
    .slice(eq + 1)
    .trim()
    .toLowerCase();
  // A leading dot is ignored by browsers (RFC 6265 5.2.3): ".a.example" means "a.example".
  if (domain.startsWith('.')) domain = domain.slice(1);
  return domain !== ownHost;
}
