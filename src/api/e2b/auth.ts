/** X-API-KEY: a tenant's E2B key (`e2b_` + 40 hex), looked up in the store on every request. */
import type { IncomingHttpHeaders } from 'node:http';
import type { Caller } from '../../core/services.js';
import { CubbyError } from '../../errors/index.js';
import type { E2bApiOptions } from './options.js';

const KEY_FORMAT = /^e2b_[0-9a-f]{40}$/;

export async function authenticateApiKey(headers: IncomingHttpHeaders, lookup: E2bApiOptions['lookupApiKey']): Promise<Caller> {
  const raw = headers['x-api-key'];
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (!key) throw new CubbyError('AUTH_MISSING', 'Missing X-API-KEY header: set E2B_API_KEY to a Cubby E2B API key');
  // The same answer for a malformed, unknown or revoked key: no hint which one it was.
  const tenant = KEY_FORMAT.test(key) ? await lookup(key) : undefined;
  if (!tenant) throw new CubbyError('AUTH_UNKNOWN_KEY', 'Invalid API key, please check your E2B_API_KEY');
  return { tenant };
}
