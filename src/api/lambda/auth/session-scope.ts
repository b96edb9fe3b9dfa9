/**
 * What a request signed with a microVM's session credentials may do: only what its execution
 * role allows, decided before the handler runs (an allowlist: anything not named here is
 * refused). `self`: read, suspend and terminate its own microVM and mint its endpoint tokens;
 * `launch`: RunMicrovm, whose image and count routes/child-launch.ts checks.
 */
import type { FastifyRequest } from 'fastify';
import type { Caller, SessionContext } from '../../../core/services.js';
import type { RolePermission } from '../../../core/roles/types.js';
import { CubbyError } from '../../../errors/index.js';
import type { LambdaArns } from '../arn.js';

const MICROVM = '/2025-09-09/microvms/:microvmIdentifier';

/** "METHOD route" -> the permission it needs and whether it must name the caller's own microVM. */
const ALLOWED: Record<string, { permission: RolePermission; own: boolean }> = {
  [`GET ${MICROVM}`]: { permission: 'self', own: true },
  [`DELETE ${MICROVM}`]: { permission: 'self', own: true },
  [`POST ${MICROVM}/suspend`]: { permission: 'self', own: true },
  [`POST ${MICROVM}/auth-token`]: { permission: 'self', own: true },
  'POST /2025-09-09/microvms': { permission: 'launch', own: false },
};

export function accessDenied(session: SessionContext, what: string): CubbyError {
  return new CubbyError(
    'ROLE_ACCESS_DENIED',
    `The execution role ${session.role.name} of microVM ${session.microvmId} does not allow ${what}.`,
    { details: { role: session.role.name, microvmId: session.microvmId } },
  );
}

export function authorizeSession(req: FastifyRequest, caller: Caller, arns: LambdaArns): void {
  const session = caller.session;
  if (!session) return;
  const route = `${req.method} ${req.routeOptions.url ?? ''}`;
  const rule = ALLOWED[route];
  if (!rule || !session.role.permissions.includes(rule.permission)) {
    throw accessDenied(session, `${req.method} ${req.routeOptions.url ?? req.url}`);
  }
  if (rule.own) {
    const identifier = (req.params as { microvmIdentifier?: string }).microvmIdentifier ?? '';
    if (arns.microvmId(caller, identifier) !== session.microvmId) {
      throw accessDenied(session, `acting on microVM ${identifier} (only on itself)`);
    }
  }
}
