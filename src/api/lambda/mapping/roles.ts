/**
 * Role ARNs in the model's form (IAM's): arn:aws:iam::<account>:role/<name>, the account being
 * the tenant's. executionRoleArn must name one of the caller's roles (else ValidationException).
 * buildRoleArn is required by the model, so clients send placeholders: one that names a role of
 * the caller's gives the build that role's secrets; any other is kept verbatim and grants nothing
 * (the build log says so).
 */
import { CubbyError } from '../../../errors/index.js';
import type { Caller, CoreServices } from '../../../core/services.js';

const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(.+)$/;

export function roleArn(accountId: string, name: string): string {
  return `arn:aws:iam::${accountId}:role/${name}`;
}

function parse(arn: string, member: string): { account: string; name: string } {
  const m = ROLE_ARN.exec(arn);
  if (!m) throw new CubbyError('ROLE_UNKNOWN', `${member} '${arn}' is not a role ARN (arn:aws:iam::<account>:role/<name>)`);
  return { account: m[1] ?? '', name: m[2] ?? '' };
}

/** The name of the caller's role an executionRoleArn names; ROLE_UNKNOWN for any other. */
export async function executionRoleName(core: CoreServices, caller: Caller, arn: string): Promise<string> {
  const { account, name } = parse(arn, 'executionRoleArn');
  if (account !== caller.tenant.accountId) {
    throw new CubbyError('ROLE_UNKNOWN', `executionRoleArn: '${arn}' is not a role of this account (${caller.tenant.accountId})`, {
      details: { member: 'executionRoleArn' },
    });
  }
  return (await core.roles.requireRole(caller, name, 'executionRoleArn')).name;
}

/** The build role's name, or undefined when the ARN names no role of the caller's (a placeholder). */
export async function buildRoleName(core: CoreServices, caller: Caller, arn: string | undefined): Promise<string | undefined> {
  const m = arn === undefined ? null : ROLE_ARN.exec(arn);
  if (!m || m[1] !== caller.tenant.accountId) return undefined;
  try {
    return (await core.roles.requireRole(caller, m[2] ?? '', 'buildRoleArn')).name;
  } catch (e) {
    if ((e as { code?: string }).code === 'ROLE_UNKNOWN') return undefined;
    throw e;
  }
}
