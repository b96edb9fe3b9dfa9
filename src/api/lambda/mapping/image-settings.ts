/**
 * CreateMicrovmImage / UpdateMicrovmImage members <-> the core's ImageSettings. Members Cubby
 * does not act on (buildRoleArn, logging, cpuConfigurations, additionalOsCapabilities) and the
 * caller's own spelling of resources and egress connectors are kept in `extra` under their wire
 * names, so every answer shows what was sent.
 */
import type { ImageSettings } from '../../../core/model.js';
import type { LambdaArns } from '../arn.js';
import type { AddressPolicy } from '../../../util/address-policy.js';
import type { VersionSettingsBody } from '../schemas/images.js';
import { connectorsToEgress, egressToConnectors } from './egress.js';
import { hooksFromWire, hooksToWire } from './hooks.js';
import { sizeFromResources } from './resources.js';

const KEPT_IMAGE_MEMBERS = [
  'buildRoleArn',
  'logging',
  'cpuConfigurations',
  'additionalOsCapabilities',
  'egressNetworkConnectors',
  'resources',
] as const;

export function settingsFromWire(body: VersionSettingsBody, arns: LambdaArns, addresses?: AddressPolicy): ImageSettings {
  const extra: Record<string, unknown> = {};
  for (const key of KEPT_IMAGE_MEMBERS) {
    if (body[key] !== undefined) extra[key] = body[key];
  }
  const settings: ImageSettings = {
    baseImage: arns.managedImageName(body.baseImageArn),
    codeArtifactUri: body.codeArtifact.uri,
    environment: { ...(body.environmentVariables ?? {}) },
    ...sizeFromResources(body.resources),
    hooks: hooksFromWire(body.hooks),
    egress: connectorsToEgress(body.egressNetworkConnectors ?? [], addresses),
    extra,
  };
  if (body.baseImageVersion !== undefined) settings.baseImageVersion = body.baseImageVersion;
  if (body.description !== undefined) settings.description = body.description;
  if (body.cubbyAgent) settings.agent = true;
  if (body.cubbyDiskMiB !== undefined || body.cubbyMaxProcesses !== undefined || body.cubbyAddressSpaceMiB !== undefined) {
    settings.sandbox = {
      ...(body.cubbyDiskMiB !== undefined ? { diskMiB: body.cubbyDiskMiB } : {}),
      ...(body.cubbyMaxProcesses !== undefined ? { maxProcesses: body.cubbyMaxProcesses } : {}),
      ...(body.cubbyAddressSpaceMiB !== undefined ? { addressSpaceMiB: body.cubbyAddressSpaceMiB } : {}),
    };
  }
  if (
    body.cubbyBuildDiskMiB !== undefined ||
    body.cubbyBuildMemoryMiB !== undefined ||
    body.cubbyBuildNetwork !== undefined ||
    body.cubbyBuildNoCache
  ) {
    settings.build = {
      ...(body.cubbyBuildDiskMiB !== undefined ? { diskMiB: body.cubbyBuildDiskMiB } : {}),
      ...(body.cubbyBuildMemoryMiB !== undefined ? { memoryMiB: body.cubbyBuildMemoryMiB } : {}),
      ...(body.cubbyBuildNetwork !== undefined ? { network: body.cubbyBuildNetwork } : {}),
      ...(body.cubbyBuildNoCache ? { noCache: true } : {}),
    };
  }
  return settings;
}

/** The configuration members every image/version answer repeats. */
export function settingsToWire(settings: ImageSettings, arns: LambdaArns): Record<string, unknown> {
  const extra = settings.extra ?? {};
  const out: Record<string, unknown> = {
    baseImageArn: arns.managedImage(settings.baseImage),
    baseImageVersion: settings.baseImageVersion,
    buildRoleArn: typeof extra.buildRoleArn === 'string' ? extra.buildRoleArn : undefined,
    description: settings.description,
    codeArtifact: { uri: settings.codeArtifactUri },
    logging: extra.logging,
    egressNetworkConnectors: Array.isArray(extra.egressNetworkConnectors)
      ? extra.egressNetworkConnectors
      : egressToConnectors(settings.egress),
    cpuConfigurations: extra.cpuConfigurations,
    resources: Array.isArray(extra.resources) ? extra.resources : [{ minimumMemoryInMiB: settings.memoryMiB }],
    additionalOsCapabilities: extra.additionalOsCapabilities,
    hooks: hooksToWire(settings.hooks),
    environmentVariables: settings.environment,
    cubbyBuildDiskMiB: settings.build?.diskMiB,
    cubbyBuildMemoryMiB: settings.build?.memoryMiB,
    cubbyBuildNetwork: settings.build?.network,
    cubbyBuildNoCache: settings.build?.noCache ? true : undefined,
    cubbyAgent: settings.agent ? true : undefined,
    cubbyDiskMiB: settings.sandbox?.diskMiB,
    cubbyMaxProcesses: settings.sandbox?.maxProcesses,
    cubbyAddressSpaceMiB: settings.sandbox?.addressSpaceMiB,
  };
  return out;
}
