/**
 * Test-only name resolution for `*.localhost` (RFC 6761: always loopback, as browsers and curl
 * resolve it), so clients that take only a URL (Playwright's connectOverCDP) can reach endpoints
 * named <microvmId>.microvm.localhost. glibc does not resolve those names; this patches Node's
 * lookup in this process (callback and promise forms), returning 127.0.0.1, and leaves every
 * other name to the real resolver. Returns the undo.
 */
import dns from 'node:dns';

const LOCALHOST = /(^|\.)localhost\.?$/i;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

export function resolveLocalhostNames(): () => void {
  const realLookup = dns.lookup;
  const realPromise = dns.promises.lookup;
  const patched = function (hostname: string, options: unknown, callback?: unknown): void {
    const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
    const opts = (typeof options === 'object' && options !== null ? options : {}) as dns.LookupOptions;
    if (!LOCALHOST.test(hostname)) {
      (realLookup as (h: string, o: dns.LookupOptions, c: LookupCallback) => void)(hostname, opts, cb);
      return;
    }
    process.nextTick(() => (opts.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)));
  };
  (dns as { lookup: unknown }).lookup = patched;
  (dns.promises as { lookup: unknown }).lookup = async (hostname: string, options?: dns.LookupOptions) => {
    if (!LOCALHOST.test(hostname)) return realPromise(hostname, options ?? {});
    if (options?.family === 6) {
      const e: NodeJS.ErrnoException = new Error(`no IPv6 loopback for ${hostname} in tests`);
      e.code = 'ENOTFOUND';
      throw e;
    }
    return options?.all ? [{ address: '127.0.0.1', family: 4 }] : { address: '127.0.0.1', family: 4 };
  };
  return () => {
    (dns as { lookup: unknown }).lookup = realLookup;
    (dns.promises as { lookup: unknown }).lookup = realPromise;
  };
}
