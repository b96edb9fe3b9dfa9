/**
 * An image version's place on disk (<imagesRoot>/<imageId>/<version>: context, rootfs, snapshot
 * and the build logs) and the one way a version's build is recorded as FAILED.
 */
import type { ImageBuild } from '../model.js';
import type { Store } from '../ports/store.js';
import type { DiskPort } from '../ports/disk.js';

interface VersionFilesDeps {
  disk: DiskPort;
  imagesRoot: string;
}

/** What a build writes besides its log: a failed or cut build leaves none of it behind. */
const BUILD_OUTPUTS = ['context', 'rootfs', 'snapshot', 'agent'] as const;

export function versionDir(d: VersionFilesDeps, imageId: string, version: string): string {
  return d.disk.join(d.imagesRoot, imageId, version);
}

/**
 * <versionDir>/agent: the host path of the agent binary the version's snapshot was taken with
 * (content-addressed: <dataDir>/agent/<sha256>/cubby-agent). A snapshot restores with exactly that
 * binary, so this says which agent the version's sandboxes run. Absent: no agent, or a version
 * built before Cubby recorded it (its agent is unknown).
 */
export function agentRecordPath(d: VersionFilesDeps, imageId: string, version: string): string {
  return d.disk.join(versionDir(d, imageId, version), 'agent');
}

export async function readVersionAgent(d: VersionFilesDeps, imageId: string, version: string): Promise<string | undefined> {
  const text = (await d.disk.read(agentRecordPath(d, imageId, version)))?.trim();
  return text ? text : undefined;
}

/** The content address of an installed agent (<dataDir>/agent/<sha256>/cubby-agent). */
export function agentDigest(installed: string): string | undefined {
  return installed.split('/').at(-2);
}

export function buildLogPath(d: VersionFilesDeps, b: Pick<ImageBuild, 'imageId' | 'version' | 'id'>): string {
  return d.disk.join(d.imagesRoot, b.imageId, b.version, `build-${b.id}.log`);
}

/**
 * A build that failed (or that a daemon restart cut): drops what it wrote but its log, then in
 * one transaction marks the build and the version FAILED with the reason, and the image
 * CREATE_FAILED / UPDATE_FAILED when that build was creating / updating it.
 */
export async function failVersion(
  d: VersionFilesDeps & { store: Store },
  b: Pick<ImageBuild, 'id' | 'tenantId' | 'imageId' | 'version'>,
  reason: string,
): Promise<void> {
  const dir = versionDir(d, b.imageId, b.version);
  for (const sub of BUILD_OUTPUTS) await d.disk.remove(d.disk.join(dir, sub)).catch(() => undefined);
  await d.store.tx(async (t) => {
    await t.updateBuild(b.tenantId, b.id, { state: 'FAILED', stateReason: reason });
    await t.updateVersion(b.tenantId, b.imageId, b.version, { state: 'FAILED', stateReason: reason });
    const img = await t.getImage(b.tenantId, b.imageId);
    if (img) {
      const state = img.state === 'CREATING' ? 'CREATE_FAILED' : img.state === 'UPDATING' ? 'UPDATE_FAILED' : img.state;
      await t.updateImage(b.tenantId, img.id, { state, latestFailedVersion: b.version });
    }
  });
}
