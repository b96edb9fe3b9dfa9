/** Reaching a microVM endpoint from a client (CLI, validator): `*.localhost` names go to loopback with the Host header kept. */
export function endpointTarget(endpoint: string): { host: string; port: number; hostHeader: string; secure: boolean } {
  const u = new URL(endpoint);
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  const port = u.port ? Number(u.port) : secure ? 443 : 80;
  const host = u.hostname.endsWith('.localhost') || u.hostname === 'localhost' ? '127.0.0.1' : u.hostname;
  return { host, port, hostHeader: u.host, secure };
}
