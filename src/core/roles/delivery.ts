/**
 * What a microVM's credentials endpoint answers (the front door in src/api/credentials knows the
 * microVM by the address it connects from): session credentials of its execution role, and the
 * values of the secrets that role grants, read at request time (so a rotation reaches running
 * microVMs at their next read, and a role changed or deleted takes effect at once).
 */
import { CubbyError } from '../../errors/index.js';
import type { Microvm } from '../model.js';
import type { Store } from '../ports/store.js';
import { checkSecretName } from './service.js';
import { executionRoleOf, type SessionCredentials, type SessionIssuer } from './sessions.js';
import type { Role } from './types.js';

export class InstanceCredentials {
  constructor(private readonly d: { store: Store; issuer: SessionIssuer }) {}

  /** The RUNNING microVM and its role; refused (forbidden) without one. */
  private async roleOf(microvmId: string): Promise<{ m: Microvm; role: Role }> {
    const m = await this.d.store.getMicrovmAny(microvmId);
    if (!m) throw new CubbyError('MICROVM_NOT_FOUND', `microVM ${microvmId} not found`);
    if (m.state !== 'RUNNING') {
      throw new CubbyError('MICROVM_BAD_STATE', `microVM ${microvmId} is ${m.state}: credentials are served while it is RUNNING`, {
        details: { current: m.state },
      });
    }
    const name = executionRoleOf(m);
    if (name === undefined) throw new CubbyError('ROLE_NO_CREDENTIALS', `microVM ${microvmId} was launched without an execution role`);
    const role = await this.d.store.getRole(m.tenantId, name);
    if (!role) throw new CubbyError('ROLE_NO_CREDENTIALS', `the execution role ${name} of microVM ${microvmId} no longer exists`);
    return { m, role };
  }

  async credentials(microvmId: string): Promise<SessionCredentials> {
    const { m, role } = await this.roleOf(microvmId);
    return this.d.issuer.issue(m, role.name);
  }

  async secret(microvmId: string, name: string): Promise<{ value: string; version: number }> {
    checkSecretName(name);
    const { m, role } = await this.roleOf(microvmId);
    if (!role.secrets.includes(name)) {
      throw new CubbyError('SECRET_NOT_GRANTED', `the execution role ${role.name} does not grant secret '${name}'`, {
        details: { secret: name },
      });
    }
    const s = await this.d.store.getSecretValue(m.tenantId, name);
    if (!s) throw new CubbyError('SECRET_NOT_FOUND', `secret ${name} not found`, { details: { resourceType: 'Secret', resourceId: name } });
    return { value: s.value, version: s.info.version };
  }
}
