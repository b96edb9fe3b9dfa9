/**
 * The raw parts of a request this API works from: the path as sent (for signing), the query
 * decoded by hand (so signing and validation see the same values: node's parser turns '+' into
 * a space, the SDK encodes a space as %20), and the body as JSON.
 */
import { CubbyError } from '../../errors/index.js';

export interface RequestTarget {
  rawPath: string;
  query: Record<string, string | string[]>;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new CubbyError('CUBBY_VALIDATION', `Query string has a malformed percent-encoding: '${part.slice(0, 64)}'.`);
  }
}

export function splitTarget(url: string): RequestTarget {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const entries = new Map<string, string[]>();
  if (q >= 0) {
    for (const pair of url.slice(q + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const key = decode(eq < 0 ? pair : pair.slice(0, eq));
      const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
      const list = entries.get(key) ?? [];
      list.push(value);
      entries.set(key, list);
    }
  }
  // fromEntries defines own properties, so a key named __proto__ stays a plain key.
  const query = Object.fromEntries([...entries].map(([k, v]) => [k, v.length === 1 ? (v[0] ?? '') : v]));
  return { rawPath, query };
}

function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const essence = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return essence === 'application/json' || essence === '' || /^application\/[a-z0-9.+-]*json$/.test(essence);
}

/**
 * No member of this API is called __proto__; refusing it outright keeps such a key from being
 * silently dropped (or, anywhere an object is built by assignment, from replacing a prototype).
 */
function refusePrototypeKeys(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new CubbyError('CUBBY_VALIDATION', "Request body has a member named '__proto__'.");
  return value;
}

/** The body as a JSON object; an empty body is `{}` (the client sends none for bodiless POSTs). */
export function jsonBody(raw: unknown, contentType: string | undefined): unknown {
  if (raw === undefined || raw === null) return {};
  if (!Buffer.isBuffer(raw)) throw new CubbyError('CUBBY_INTERNAL', 'request body was not collected as bytes');
  if (raw.length === 0) return {};
  if (!isJsonType(contentType)) {
    throw new CubbyError('API_UNSUPPORTED_MEDIA_TYPE', `Unsupported content type '${contentType}'; send application/json.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'), refusePrototypeKeys);
  } catch (e) {
    if (e instanceof CubbyError) throw e;
    throw new CubbyError('CUBBY_VALIDATION', 'Request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CubbyError('CUBBY_VALIDATION', 'Request body must be a JSON object.');
  }
  return parsed;
}
