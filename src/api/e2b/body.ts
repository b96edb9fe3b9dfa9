/** Request bodies and query values of the E2B API: JSON objects, checked member by member. */
import type { FastifyRequest } from 'fastify';
import { CubbyError } from '../../errors/index.js';

const invalid = (message: string): CubbyError => new CubbyError('CUBBY_VALIDATION', message);

/** The body as a JSON object; an empty body is `{}`. Malformed JSON or a non-object is a 400. */
export function jsonObject(req: FastifyRequest): Record<string, unknown> {
  const raw = req.body;
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : typeof raw === 'string' ? raw : '';
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw invalid('request body is not valid JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalid('request body must be a JSON object');
  return v as Record<string, unknown>;
}

export function optString(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`${key} must be a string`);
  return v;
}

export function optBool(o: Record<string, unknown>, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${key} must be a boolean`);
  return v;
}

/** A whole number of seconds in [min, max]. */
export function optSeconds(o: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(`${key} must be a whole number of seconds from ${min} to ${max}`);
  }
  return v;
}

export function optObject(o: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`${key} must be an object`);
  return v as Record<string, unknown>;
}

/** A map of strings (metadata, envVars), at most `maxEntries` entries. */
export function optStringMap(o: Record<string, unknown>, key: string, maxEntries = 256): Record<string, string> | undefined {
  const m = optObject(o, key);
  if (m === undefined) return undefined;
  const entries = Object.entries(m);
  if (entries.length > maxEntries) throw invalid(`${key} has more than ${maxEntries} entries`);
  for (const [k, v] of entries) if (typeof v !== 'string') throw invalid(`${key}.${k} must be a string`);
  return m as Record<string, string>;
}

/** True when the member is present and not an empty list/object (a feature Cubby does not offer). */
export function isSet(v: unknown): boolean {
  if (v === undefined || v === null || v === false) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

export function unsupported(what: string): CubbyError {
  return invalid(`${what} is not supported by Cubby`);
}
