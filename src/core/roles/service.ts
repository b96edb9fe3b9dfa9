/**
 * What front doors call to manage a tenant's secrets and roles. Secrets are write-only: no call
 * here (or anywhere a tenant reaches) returns a value; only a microVM whose role grants a secret
 * reads it, through its credentials endpoint (delivery.ts), and a build through its build role.
 */
import { CubbyError } from '../../errors/index.js';
import type { Store } from '../ports/store.js';
import type { Caller } from '../services.js';
import {
  MAX_SECRET_BYTES,
  ROLE_NAME,
  ROLE_PERMISSIONS,
  SECRET_NAME,
  type LaunchGrant,
  type Role,
  type RolePermission,
  type SecretInfo,
} from './types.js';

/** The extra member (Microvm.extra) holding the name of a microVM's execution role. */
export const EXECUTION_ROLE_MEMBER = 'executionRole';
/** The extra member holding the id of the microVM whose session credentials launched this one. */
export const PARENT_MEMBER = 'parentMicrovmId';

export const MAX_ROLE_SECRETS = 100;
export const MAX_LAUNCH_IMAGES = 100;
export const MAX_CHILDREN = 100;

export interface CreateRoleInput {
  name: string;
  secrets: string[];
  permissions: RolePermission[];
  launch?: LaunchGrant;
}

export interface RolesService {
  /** Sets (or rotates: the next version) a secret; SECRET_TOO_LARGE past MAX_SECRET_BYTES. */
  putSecret(caller: Caller, name: string, value: string): Promise<SecretInfo>;
  listSecrets(caller: Caller): Promise<SecretInfo[]>;
  createRole(caller: Caller, input: CreateRoleInput): Promise<Role>;
  getRole(caller: Caller, name: string): Promise<Role>;
  listRoles(caller: Caller): Promise<Role[]>;
  deleteRole(caller: Caller, name: string): Promise<Role>;
  /** The caller's role `name` for a launch or build; ROLE_UNKNOWN (a validation error) when absent. */
  requireRole(caller: Caller, name: string, member: string): Promise<Role>;
  /** The values of the role's secrets (a build's), read now. */
  secretsOf(tenantId: string, role: Role): Promise<Record<string, string>>;
}

function invalid(code: 'SECRET_INVALID' | 'ROLE_INVALID', message: string): CubbyError {
  return new CubbyError(code, message);
}

export function roleNotFound(name: string): CubbyError {
  return new CubbyError('ROLE_NOT_FOUND', `role ${name} not found`, { details: { resourceType: 'Role', resourceId: name } });
}

export function checkSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) throw invalid('SECRET_INVALID', `secret name '${name}' must be 1-128 characters of [A-Za-z0-9_.-]`);
}

export function checkRoleName(name: string): void {
  if (!ROLE_NAME.test(name)) throw invalid('ROLE_INVALID', `role name '${name}' must be 1-64 characters of [A-Za-z0-9+=,.@_-]`);
}

/** A role's definition, checked whole before anything is stored. */
function checkRole(input: CreateRoleInput): void {
  checkRoleName(input.name);
  if (!Array.isArray(input.secrets) || input.secrets.length > MAX_ROLE_SECRETS) {
    throw invalid('ROLE_INVALID', `a role grants at most ${MAX_ROLE_SECRETS} secrets`);
  }
  input.secrets.forEach(checkSecretName);
  if (new Set(input.secrets).size !== input.secrets.length) throw invalid('ROLE_INVALID', 'a secret is named twice');
  for (const p of input.permissions) {
    if (!ROLE_PERMISSIONS.includes(p)) {
      throw invalid('ROLE_INVALID', `unknown permission '${String(p)}' (known: none, ${ROLE_PERMISSIONS.join(', ')})`);
    }
  }
  const launch = input.permissions.includes('launch');
  if (launch !== (input.launch !== undefined)) {
    throw invalid('ROLE_INVALID', "the 'launch' permission needs the images it may launch and a maximum count, and only it does");
  }
  if (input.launch) {
    const { images, maxChildren } = input.launch;
    if (!Array.isArray(images) || images.length === 0 || images.length > MAX_LAUNCH_IMAGES) {
      throw invalid('ROLE_INVALID', `'launch' names 1-${MAX_LAUNCH_IMAGES} images`);
    }
    for (const i of images) {
      if (!/^[a-zA-Z0-9_-]{1,64}$/.test(i)) throw invalid('ROLE_INVALID', `image name '${i}' must be 1-64 characters of [a-zA-Z0-9-_]`);
    }
    if (!Number.isInteger(maxChildren) || maxChildren < 1 || maxChildren > MAX_CHILDREN) {
      throw invalid('ROLE_INVALID', `the maximum count of children must be an integer 1-${MAX_CHILDREN}`);
    }
  }
}

export class RolesServiceImpl implements RolesService {
  constructor(private readonly store: Store) {}

  async putSecret(caller: Caller, name: string, value: string): Promise<SecretInfo> {
    checkSecretName(name);
    if (typeof value !== 'string' || value.length === 0) throw invalid('SECRET_INVALID', `secret ${name}: the value is empty`);
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_SECRET_BYTES) {
      throw new CubbyError('SECRET_TOO_LARGE', `secret ${name} is ${bytes} bytes; the limit is ${MAX_SECRET_BYTES} bytes`, {
        details: { bytes, limit: MAX_SECRET_BYTES },
      });
    }
    return this.store.putSecret(caller.tenant.id, name, value);
  }

  listSecrets(caller: Caller): Promise<SecretInfo[]> {
    return this.store.listSecrets(caller.tenant.id);
  }

  createRole(caller: Caller, input: CreateRoleInput): Promise<Role> {
    checkRole(input);
    const permissions = [...new Set(input.permissions)];
    return this.store.createRole({
      tenantId: caller.tenant.id,
      name: input.name,
      secrets: input.secrets,
      permissions,
      ...(input.launch ? { launch: { images: [...new Set(input.launch.images)], maxChildren: input.launch.maxChildren } } : {}),
    });
  }

  async getRole(caller: Caller, name: string): Promise<Role> {
    const r = await this.store.getRole(caller.tenant.id, name);
    if (!r) throw roleNotFound(name);
    return r;
  }

  listRoles(caller: Caller): Promise<Role[]> {
    return this.store.listRoles(caller.tenant.id);
  }

  deleteRole(caller: Caller, name: string): Promise<Role> {
    return this.store.deleteRole(caller.tenant.id, name);
  }

  async requireRole(caller: Caller, name: string, member: string): Promise<Role> {
    const r = ROLE_NAME.test(name) ? await this.store.getRole(caller.tenant.id, name) : undefined;
    if (!r) {
      throw new CubbyError('ROLE_UNKNOWN', `${member}: this account has no role '${name}' (create it with \`cubby role create\`)`, {
        details: { member, role: name },
      });
    }
    return r;
  }

  async secretsOf(tenantId: string, role: Role): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const name of role.secrets) {
      const s = await this.store.getSecretValue(tenantId, name);
      if (s) out[name] = s.value;
    }
    return out;
  }
}
