/** Finds the image version a microVM launches from (the latest SUCCESSFUL + ACTIVE one unless named). */
import type { Store } from '../ports/store.js';
import { CubbyError } from '../../errors/index.js';
import type { LaunchTarget } from '../launch/launcher.js';

/** The target, with the version's baseline memory (what the memory quota counts). */
export async function resolveLaunchTarget(store: Store, tenantId: string, imageName: string | undefined, version?: string, imageId?: string): Promise<LaunchTarget & { memoryMiB: number }> {
  const image = imageId ? await store.getImage(tenantId, imageId) : await store.getImageByName(tenantId, imageName ?? '');
  if (!image) throw new CubbyError('IMAGE_NOT_FOUND', `image ${imageName ?? imageId} not found`);
  const v = version
    ? await store.getVersion(tenantId, image.id, version)
    : await store.findLatestVersion(tenantId, image.id, { states: ['SUCCESSFUL'], status: 'ACTIVE' });
  if (!v) {
    throw new CubbyError(version ? 'IMAGE_VERSION_NOT_FOUND' : 'IMAGE_NOT_READY',
      version ? `image ${image.name} has no version ${version}` : `image ${image.name} has no successful active version yet`);
  }
  if (v.state !== 'SUCCESSFUL' || !v.snapshotPath) {
    throw new CubbyError('IMAGE_NOT_READY', `image ${image.name} version ${v.version} is ${v.state}${v.stateReason ? `: ${v.stateReason}` : ''}`);
  }
  // A launch (by image name) never starts from a deactivated version; microVMs already on it go on.
  if (imageName !== undefined && v.status !== 'ACTIVE') {
    throw new CubbyError('IMAGE_NOT_READY', `image ${image.name} version ${v.version} is INACTIVE; activate it to launch from it`);
  }
  return {
    tenantId, imageId: image.id, version: v.version, snapshotPath: v.snapshotPath,
    hooks: v.settings.hooks, egress: v.settings.egress, memoryMiB: v.settings.memoryMiB,
  };
}
