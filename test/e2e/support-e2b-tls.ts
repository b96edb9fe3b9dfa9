/**
 * Host routing over TLS for the test process, without /etc/hosts or any DNS: while installed,
 * every TLS connection this process opens to 127.0.0.1 or a name under `domain` trusts the
 * daemon's self-signed CA besides the public roots (what NODE_EXTRA_CA_CERTS=<ca.pem> does for a
 * user's process; Node reads that variable only at start-up), and names under `domain` resolve to
 * 127.0.0.1. The `e2b` SDK builds its own undici Agent (HTTP/2 by ALPN), whose connector calls
 * `tls.connect` of node:tls, so patching that one function reaches the SDK's every connection.
 */
import { readFileSync } from 'node:fs';
import type { LookupFunction } from 'node:net';
import tls from 'node:tls';

const loopback = ((_host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => {
  if (opts?.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
}) as unknown as LookupFunction;

/** Installs the trust and the lookup; returns the function that removes them. */
export function trustLocalDaemon(caPath: string, domain: string): () => void {
  const ca = [...tls.rootCertificates, readFileSync(caPath, 'utf8')];
  const original = tls.connect;
  const bare = domain.replace(/:\d+$/, '');
  const ours = (host: unknown) => typeof host === 'string' && (host === '127.0.0.1' || host === bare || host.endsWith(`.${bare}`));
  const patched = function (this: unknown, ...args: unknown[]) {
    const o = args.find((a): a is tls.ConnectionOptions => typeof a === 'object' && a !== null);
    if (o && (ours(o.host) || ours(o.servername))) {
      if (o.ca === undefined) o.ca = ca;
      if (o.lookup === undefined && o.host !== '127.0.0.1') o.lookup = loopback;
    }
    return (original as (...a: unknown[]) => tls.TLSSocket).apply(this, args);
  } as typeof tls.connect;
  tls.connect = patched;
  return () => {
    if (tls.connect === patched) tls.connect = original;
  };
}
