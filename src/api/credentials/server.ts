/**
 * The credentials endpoint microVMs reach at http://169.254.170.2 (the host redirects each
 * sandbox's packets there to this listener: src/network/linux/credentials-nft.ts). It knows the
 * microVM by the connection's source address (the network's anti-spoofing rules make that
 * address the sandbox's own), so nothing secret has to be in the image or the snapshot:
 *   GET /cubby/v1/credentials     -> the AWS container-credentials JSON of the microVM's role
 *   GET /cubby/v1/secrets/{name}  -> the secret's current value (text/plain), if the role grants it
 * Errors are JSON {code, message} (403 role/grant, 404 unknown, 409 not running). Anything else
 * connecting (the host's other interfaces; another sandbox is never redirected here) is refused.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CREDENTIALS_PATH, SECRETS_PATH } from '../../core/roles/types.js';
import type { InstanceCredentials } from '../../core/roles/delivery.js';
import { CubbyError, asCubbyError } from '../../errors/index.js';

export interface CredentialsEndpointDeps {
  /** The microVM whose sandbox has this address, if any. */
  microvmAt(address: string): Promise<string | undefined>;
  /** Set once the core exists; until then every request is 503. */
  credentials(): InstanceCredentials | undefined;
  log?: { warn(obj: object, msg: string): void };
}

const STATUS: Record<string, number> = { validation: 400, not_found: 404, conflict: 409, forbidden: 403, unauthorized: 403 };

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

async function answer(deps: CredentialsEndpointDeps, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const address = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const microvmId = await deps.microvmAt(address);
  if (!microvmId) throw new CubbyError('ROLE_NO_CREDENTIALS', 'this endpoint answers microVMs only');
  const service = deps.credentials();
  if (!service) throw new CubbyError('CUBBY_TIMEOUT', 'the daemon is starting; retry');
  if (req.method !== 'GET') throw new CubbyError('API_UNKNOWN_OPERATION', `${req.method ?? ''} is not served here (GET only)`);
  const path = (req.url ?? '').split('?')[0] ?? '';
  if (path === CREDENTIALS_PATH) {
    const c = await service.credentials(microvmId);
    return send(res, 200, 'application/json', JSON.stringify(c));
  }
  if (path.startsWith(SECRETS_PATH)) {
    let name: string;
    try {
      name = decodeURIComponent(path.slice(SECRETS_PATH.length));
    } catch {
      throw new CubbyError('SECRET_INVALID', 'the secret name is not valid percent-encoding');
    }
    const s = await service.secret(microvmId, name);
    res.setHeader('x-cubby-secret-version', String(s.version));
    return send(res, 200, 'text/plain; charset=utf-8', s.value);
  }
  throw new CubbyError('API_UNKNOWN_OPERATION', `nothing at ${path} (${CREDENTIALS_PATH}, ${SECRETS_PATH}<name>)`);
}

export interface CredentialsEndpoint {
  port: number;
  close(): Promise<void>;
}

/**
 * Listens on every address at `port` (0: any free one), since redirected connections arrive on
 * each sandbox veth's host address; the source check in answer() refuses everyone else.
 */
export async function startCredentialsEndpoint(deps: CredentialsEndpointDeps, port = 0): Promise<CredentialsEndpoint> {
  const server = http.createServer((req, res) => {
    answer(deps, req, res).catch((e: unknown) => {
      const err = asCubbyError(e);
      if (err.kind === 'internal' || err.kind === 'unavailable') deps.log?.warn({ err: err.message }, 'credentials endpoint failed');
      const status = STATUS[err.kind] ?? (err.kind === 'unavailable' ? 503 : 500);
      const message = err.kind === 'internal' ? 'An internal error occurred.' : err.message;
      send(res, status, 'application/json', JSON.stringify({ code: err.code, message }));
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '0.0.0.0' }, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
