/**
 * A build's role (the image's buildRoleArn, resolved by the front door into settings.extra): the
 * values of the secrets it grants, read when the build starts and handed to the builder, which
 * shows them to RUN steps only (src/images/build/build-secrets.ts), never to the image.
 */
import { CubbyError } from '../../errors/index.js';
import type { ImageSettings } from '../model.js';
import type { Store } from '../ports/store.js';

/** The extra member (ImageSettings.extra) holding the name of the image's build role. */
export const BUILD_ROLE_MEMBER = 'buildRole';

export async function buildRoleSecrets(
  store: Store,
  tenantId: string,
  settings: ImageSettings,
): Promise<Record<string, string> | undefined> {
  const name = settings.extra[BUILD_ROLE_MEMBER];
  if (typeof name !== 'string') return undefined;
  const role = await store.getRole(tenantId, name);
  if (!role) throw new CubbyError('ROLE_UNKNOWN', `the build role ${name} no longer exists`, { details: { role: name } });
  const out: Record<string, string> = {};
  for (const secret of role.secrets) {
    const s = await store.getSecretValue(tenantId, secret);
    if (!s) throw new CubbyError('SECRET_NOT_FOUND', `secret ${secret} of build role ${name} no longer exists`);
    out[secret] = s.value;
  }
  return out;
}
