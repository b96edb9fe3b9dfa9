/** Core image records -> the wire's image, version, build and managed-image shapes. */
import type { Image, ImageBuild, ImageVersion } from '../../../core/model.js';
import type { ManagedImage } from '../../../core/services.js';
import type { LambdaArns } from '../arn.js';
import { settingsToWire } from './image-settings.js';
import { epochSeconds, optionalEpochSeconds } from './time.js';

export function imageSummaryToWire(image: Image, imageArn: string): Record<string, unknown> {
  return {
    imageArn,
    name: image.name,
    state: image.state,
    createdAt: epochSeconds(image.createdAt),
    latestActiveImageVersion: image.latestActiveVersion,
    latestFailedImageVersion: image.latestFailedVersion,
  };
}

export function versionToWire(version: ImageVersion, imageArn: string, arns: LambdaArns): Record<string, unknown> {
  return {
    ...settingsToWire(version.settings, arns),
    imageArn,
    imageVersion: version.version,
    state: version.state,
    status: version.status,
    createdAt: epochSeconds(version.createdAt),
    updatedAt: optionalEpochSeconds(version.updatedAt),
    stateReason: version.stateReason,
  };
}

/** Create/Update answers: the image, the version just made, and its settings. */
export function imageWithVersionToWire(image: Image, version: ImageVersion, imageArn: string, arns: LambdaArns): Record<string, unknown> {
  return {
    ...settingsToWire(version.settings, arns),
    ...imageSummaryToWire(image, imageArn),
    imageVersion: version.version,
    updatedAt: epochSeconds(image.updatedAt ?? version.updatedAt ?? version.createdAt),
  };
}

/**
 * Cubby builds for the host it runs on; the model knows only ARM_64/GRAVITON, so an x86 host
 * reports X86_64 and a generic chipset rather than claim hardware it does not have.
 */
export const HOST_ARCHITECTURE = process.arch === 'arm64' ? 'ARM_64' : 'X86_64';
export const HOST_CHIPSET = 'GENERIC';
export const HOST_CHIPSET_GENERATION = '1';

export function buildToWire(build: ImageBuild, imageArn: string): Record<string, unknown> {
  const snapshot = {
    memorySnapshotSizeInBytes: build.memorySnapshotBytes,
    codeInstallSizeInBytes: build.codeInstallBytes,
    diskSnapshotSizeInBytes: build.diskSnapshotBytes,
  };
  const hasSnapshot = Object.values(snapshot).some((v) => v !== undefined);
  return {
    imageArn,
    imageVersion: build.version,
    buildId: build.id,
    buildState: build.state,
    architecture: HOST_ARCHITECTURE,
    chipset: HOST_CHIPSET,
    chipsetGeneration: HOST_CHIPSET_GENERATION,
    createdAt: epochSeconds(build.createdAt),
    stateReason: build.stateReason,
    snapshotBuild: hasSnapshot ? snapshot : undefined,
  };
}

export function managedSummaryToWire(info: ManagedImage, arns: LambdaArns): Record<string, unknown> {
  return {
    imageArn: arns.managedImage(info.name),
    createdAt: epochSeconds(info.createdAt),
    updatedAt: optionalEpochSeconds(info.updatedAt),
  };
}

export function managedVersionToWire(
  info: ManagedImage,
  version: ManagedImage['versions'][number],
  arns: LambdaArns,
): Record<string, unknown> {
  return {
    imageArn: arns.managedImage(info.name),
    imageVersion: version.version,
    status: version.status,
    createdAt: epochSeconds(version.createdAt),
    updatedAt: optionalEpochSeconds(version.updatedAt),
  };
}
