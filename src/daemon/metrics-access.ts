/**
 * Who may scrape /metrics. Its per-tenant series name every tenant and its usage, so it is not
 * for the tenants who reach the API: a scrape is served from the host itself (loopback), or from
 * elsewhere with the operator's metrics token as a bearer token. No token set: loopback only.
 */
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { CubbyError } from '../errors/index.js';

const loopback = new net.BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (v4) return loopback.check(v4, 'ipv4');
  return loopback.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Throws METRICS_FORBIDDEN unless the scrape comes from loopback or carries the token. */
export function checkMetricsAccess(remoteAddress: string | undefined, authorization: string | undefined, token: string | undefined): void {
  if (isLoopback(remoteAddress)) return;
  const given = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
  if (token && given && sameSecret(given, token)) return;
  throw new CubbyError(
    'METRICS_FORBIDDEN',
    token
      ? "/metrics needs the operator's metrics token (Authorization: Bearer ...) from off the host"
      : '/metrics is served to the host itself only; set --metrics-token to scrape it from elsewhere',
  );
}
