/** The store's "no such record" and refusal errors, worded once for every implementation. */
import type { MicrovmState } from '../core/model.js';
import { CubbyError } from '../errors/index.js';

export const tenantNotFound = (tenantId: string): CubbyError =>
  new CubbyError('TENANT_NOT_FOUND', `tenant ${tenantId} not found`, { details: { tenantId } });

export const keyNotFound = (accessKeyId: string): CubbyError =>
  new CubbyError('KEY_NOT_FOUND', `access key ${accessKeyId} not found`, { details: { accessKeyId } });

export const imageNotFound = (id: string): CubbyError =>
  new CubbyError('IMAGE_NOT_FOUND', `image ${id} not found`, { details: { imageId: id } });

export const versionNotFound = (imageId: string, version: string): CubbyError =>
  new CubbyError('IMAGE_VERSION_NOT_FOUND', `version ${version} of image ${imageId} not found`, { details: { imageId, version } });

export const buildNotFound = (id: string): CubbyError =>
  new CubbyError('IMAGE_BUILD_NOT_FOUND', `build ${id} not found`, { details: { buildId: id } });

export const microvmNotFound = (id: string): CubbyError =>
  new CubbyError('MICROVM_NOT_FOUND', `microVM ${id} not found`, { details: { microvmId: id } });

export const microvmBadState = (id: string, current: unknown, expected: readonly MicrovmState[], target: MicrovmState): CubbyError =>
  new CubbyError('MICROVM_BAD_STATE', `microVM ${id} is ${String(current)}, not ${expected.join(' or ') || '(none)'}`, {
    details: { microvmId: id, current, expected: [...expected], target },
  });

const TENANT_NAME = /^[a-z0-9-]{1,63}$/;

export function checkTenantName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !TENANT_NAME.test(name)) {
    throw new CubbyError('CUBBY_VALIDATION', 'tenant name must be 1-63 characters of a-z, 0-9 and -');
  }
}
