/** Domain names as egress rules take them: a host name, or `*.` and a domain of two labels or more. */

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** `text` lower-cased without a trailing dot if it is a host name or `*.`-wildcard; else null. */
export function normalizeDomain(text: string): string | null {
  const name = text.trim().toLowerCase().replace(/\.$/, '');
  if (name.length === 0 || name.length > 253) return null;
  const wildcard = name.startsWith('*.');
  const labels = (wildcard ? name.slice(2) : name).split('.');
  if (!labels.every((l) => LABEL.test(l))) return null;
  // `*.com` would open a whole top-level domain: a wildcard needs two labels under it.
  if (wildcard && labels.length < 2) return null;
  // An all-numeric last label would be an IPv4 address written as a name.
  if (/^\d+$/.test(labels.at(-1) ?? '')) return null;
  return name;
}

/** Whether `name` (normalized, no wildcard) falls under the rule `domain`. */
export function domainMatches(domain: string, name: string): boolean {
  if (domain.startsWith('*.')) return name.length > domain.length - 1 && name.endsWith(domain.slice(1));
  return name === domain;
}
