/**
 * Fetches an http(s) code artifact without letting a tenant aim the daemon at its own network:
 * every hop's host name is resolved here, refused if ANY of its addresses is refused by the
 * operator's address policy, and the connection goes to the checked address only (TLS SNI and
 * the Host header stay the name; there is no second resolution for a rebinding DNS to exploit).
 * Every refusal or failure gives the tenant the same text, so the answers cannot map what
 * listens where; the real reason goes to the daemon log and the error's cause.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { CubbyError } from '../../errors/index.js';
import { DEFAULT_ADDRESS_POLICY, type AddressPolicy } from '../../util/address-policy.js';
import type { ArtifactLimits } from './limits.js';

/** All addresses of a host name (as getaddrinfo gives them). */
export type Resolver = (hostname: string) => Promise<string[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/** Where the real reason of a refused or failed fetch is written (the daemon's log). */
export type FetchLog = (fields: { url: string; reason: string }, message: string) => void;

export interface RemotePolicy {
  addresses?: AddressPolicy;
  resolve?: Resolver;
  log?: FetchLog;
}

const MAX_REDIRECTS = 5;

/** The one answer a tenant gets for any refused or failed fetch. */
export function fetchFailed(given: string, reason: string, cause?: unknown): CubbyError {
  return new CubbyError('ARTIFACT_FETCH_FAILED', `the code artifact could not be fetched from ${given.slice(0, 1000)}`, {
    cause: new Error(reason, cause === undefined ? undefined : { cause }),
  });
}

/** Refusals that need no DNS (a literal address, a *.localhost name), also checked at request time. */
export function refusedOnSight(url: URL, addresses: AddressPolicy): string | undefined {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(host)) return addresses.allows(host) ? undefined : `${host} is a refused address`;
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is a loopback name`;
  return undefined;
}

class Refused extends Error {}

function withDeadline<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('timed out'));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The address to connect to for a hop: checked, every resolved address included. */
async function pinnedAddress(url: URL, addresses: AddressPolicy, resolve: Resolver, signal: AbortSignal): Promise<string> {
  const why = refusedOnSight(url, addresses);
  if (why) throw new Refused(why);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const all = isIP(host) ? [host] : await withDeadline(resolve(host), signal);
  if (all.length === 0) throw new Refused(`${host} has no address`);
  const bad = all.find((a) => !addresses.allows(a));
  if (bad !== undefined) throw new Refused(`${host} resolves to ${bad}, a refused address`);
  return all[0] as string;
}

function request(url: URL, address: string, signal: AbortSignal): Promise<http.IncomingMessage> {
  const family = isIP(address);
  // Node calls this instead of DNS (with `all` when it may try several families).
  const lookup = ((_host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => {
    if (opts?.all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  }) as unknown as LookupFunction;
  const get = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = get(url, { method: 'GET', lookup, agent: false, signal, headers: { accept: '*/*' } }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/**
 * Downloads `start` (the tenant's `given` text names it in errors), following at most
 * MAX_REDIRECTS redirects, each hop resolved, checked and pinned again.
 */
export async function fetchRemote(start: URL, given: string, limits: ArtifactLimits, policy: RemotePolicy = {}): Promise<Buffer> {
  const addresses = policy.addresses ?? DEFAULT_ADDRESS_POLICY;
  const resolve = policy.resolve ?? systemResolver;
  const signal = AbortSignal.timeout(limits.fetchTimeoutMs);
  let url = start;
  try {
    for (let hop = 0; ; hop++) {
      const address = await pinnedAddress(url, addresses, resolve, signal);
      const res = await request(url, address, signal);
      const status = res.statusCode ?? 0;
      const loc = res.headers.location;
      if (status >= 300 && status < 400 && loc) {
        res.destroy();
        if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
        url = new URL(loc, url);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Refused(`redirect to scheme ${url.protocol}`);
        continue;
      }
      if (status < 200 || status > 299) {
        res.destroy();
        throw new Error(`HTTP ${status} from ${url.href}`);
      }
      const declared = Number(res.headers['content-length'] ?? NaN);
      if (declared > limits.maxArchiveBytes) {
        res.destroy();
        throw tooLarge(declared, limits);
      }
      const chunks: Buffer[] = [];
      let got = 0;
      for await (const chunk of res) {
        got += (chunk as Buffer).byteLength;
        if (got > limits.maxArchiveBytes) {
          res.destroy();
          throw tooLarge(got, limits);
        }
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks);
    }
  } catch (e) {
    if (e instanceof CubbyError) throw e;
    const reason = signal.aborted
      ? `timed out after ${limits.fetchTimeoutMs} ms`
      : `${e instanceof Refused ? 'refused: ' : ''}${(e as Error).message}`;
    policy.log?.({ url: url.href, reason }, 'code artifact fetch failed');
    throw fetchFailed(given, reason, e);
  }
}

/** Over the size cap: only ever said of a host the policy allowed, so it maps nothing private. */
export function tooLarge(size: number, limits: ArtifactLimits): CubbyError {
  return new CubbyError('ARTIFACT_TOO_LARGE', `artifact is larger than ${limits.maxArchiveBytes} bytes`, { details: { size } });
}
