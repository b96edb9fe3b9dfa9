/** Finds the image version a microVM launches from (the latest SUCCESSFUL + ACTIVE one unless named). */
import type { Store } from '../ports/store.js';
import { CubbyError, errors } from '../../errors/index.js';
import type { LaunchTarget } from '../launch/launcher.js';

/**
 * Which version: a launch names the image (and maybe a version; it must be ACTIVE); an existing
 * microVM names its image id and version (it goes on even once that version is INACTIVE).
 */
export type TargetRef = { image: string; version?: string | undefined } | { imageId: string; version: string };

/** The target, with the version's baseline memory (what the memory quota counts). */
export async function resolveLaunchTarget(store: Store, tenantId: string, ref: TargetRef): Promise<LaunchTarget & { memoryMiB: number }> {
  const byName = 'image' in ref;
  const image = byName ? await store.getImageByName(tenantId, ref.image) : await store.getImage(tenantId, ref.imageId);
  if (!image) throw errors.imageNotFound(byName ? ref.image : ref.imageId);
  const version = ref.version;
  const v = version
    ? await store.getVersion(tenantId, image.id, version)
    : await store.findLatestVersion(tenantId, image.id, { states: ['SUCCESSFUL'], status: 'ACTIVE' });
  if (!v) {
    if (version) throw errors.imageVersionNotFound(image.name, version);
    throw new CubbyError('IMAGE_NOT_READY', `image ${image.name} has no successful active version yet`);
  }
  if (v.state !== 'SUCCESSFUL' || !v.snapshotPath) {
    throw new CubbyError(
      'IMAGE_NOT_READY',
      `image ${image.name} version ${v.version} is ${v.state}${v.stateReason ? `: ${v.stateReason}` : ''}`,
    );
  }
  // A launch (by image name) never starts from a deactivated version; microVMs already on it go on.
  if (byName && v.status !== 'ACTIVE') {
    throw new CubbyError('IMAGE_NOT_READY', `image ${image.name} version ${v.version} is INACTIVE; activate it to launch from it`);
  }
  return {
    tenantId,
    imageId: image.id,
    version: v.version,
    snapshotPath: v.snapshotPath,
    hooks: v.settings.hooks,
    egress: v.settings.egress,
    memoryMiB: v.settings.memoryMiB,
  };
}
