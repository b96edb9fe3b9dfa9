/**
 * CreateMicrovmAuthToken, CreateMicrovmShellAuthToken. The answer's authToken is a map of
 * header name to value; the model says to send the value at "X-aws-proxy-auth" to the endpoint,
 * so that is the one key (the shell endpoint reads the same header).
 */
import type { FastifyInstance } from 'fastify';
import type { PortRange } from '../../../core/ports/network.js';
import { MicrovmPath } from '../schemas/microvms.js';
import { CreateMicrovmAuthTokenBody, CreateMicrovmShellAuthTokenBody } from '../schemas/tokens.js';
import { parseInput } from '../validate.js';
import { bodyOf, type RouteDeps } from './deps.js';

export const AUTH_TOKEN_HEADER = 'X-aws-proxy-auth';

type PortSpec = { port?: number | undefined; range?: { startPort: number; endPort: number } | undefined; allPorts?: object | undefined };

function portsFromWire(specs: readonly PortSpec[]): PortRange[] | 'all' {
  if (specs.some((s) => s.allPorts !== undefined)) return 'all';
  return specs.map((s) => (s.range ? { from: s.range.startPort, to: s.range.endPort } : { from: s.port ?? 0, to: s.port ?? 0 }));
}

export function registerTokenRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { core, arns } = deps;

  app.post('/2025-09-09/microvms/:microvmIdentifier/auth-token', async (req) => {
    const { caller } = deps.context(req);
    const { microvmIdentifier } = parseInput(MicrovmPath, req.params, 'path');
    const body = parseInput(CreateMicrovmAuthTokenBody, bodyOf(req), 'body');
    const id = arns.microvmId(caller, microvmIdentifier);
    const { token } = await core.tokens.createAuthToken(caller, id, body.expirationInMinutes, portsFromWire(body.allowedPorts));
    return { authToken: { [AUTH_TOKEN_HEADER]: token } };
  });

  app.post('/2025-09-09/microvms/:microvmIdentifier/shell-auth-token', async (req) => {
    const { caller } = deps.context(req);
    const { microvmIdentifier } = parseInput(MicrovmPath, req.params, 'path');
    const body = parseInput(CreateMicrovmShellAuthTokenBody, bodyOf(req), 'body');
    const id = arns.microvmId(caller, microvmIdentifier);
    const { token } = await core.tokens.createShellToken(caller, id, body.expirationInMinutes);
    return { authToken: { [AUTH_TOKEN_HEADER]: token } };
  });
}
