/** Requests of the image operations: create, update, delete, get, list. */
import { z } from 'zod';
import {
  ClientToken,
  Connectors,
  EnvironmentVariables,
  Hooks,
  ImageIdentifier,
  Logging,
  RoleArn,
  Tags,
  int,
  nonBlank,
  pageQuery,
} from './common.js';

export const CodeArtifact = z.strictObject({
  uri: z
    .string()
    .min(1)
    .max(2048)
    .regex(/^(file|https?|s3|cubby-artifact):\/\/\S+$/, 'must be a file://, http(s)://, s3:// or cubby-artifact:// URI'),
});

/** Cubby sizes a microVM between 512 MiB / 0.25 vCPU and 8 GiB / 4 vCPU (the model's baselines). */
export const MIN_MEMORY_MIB = 512;
export const MAX_MEMORY_MIB = 8192;
export const Resources = z
  .array(z.strictObject({ minimumMemoryInMiB: int(MIN_MEMORY_MIB, MAX_MEMORY_MIB) }))
  .min(1)
  .max(10);

export const CpuConfigurations = z.array(z.strictObject({ architecture: z.enum(['ARM_64', 'X86_64']) })).max(10);
export const OsCapabilities = z.array(z.enum(['ALL'])).max(10);

/** The members CreateMicrovmImage and UpdateMicrovmImage share: one version's settings. */
const versionSettings = {
  baseImageArn: nonBlank(1, 2048),
  baseImageVersion: nonBlank(1, 2048).optional(),
  // Required in the model, optional in AWS's guide ("the build role is optional"): Cubby has no IAM.
  buildRoleArn: RoleArn.optional(),
  description: z.string().max(256).optional(),
  codeArtifact: CodeArtifact,
  logging: Logging.optional(),
  egressNetworkConnectors: Connectors.optional(),
  cpuConfigurations: CpuConfigurations.optional(),
  resources: Resources.optional(),
  additionalOsCapabilities: OsCapabilities.optional(),
  hooks: Hooks.optional(),
  environmentVariables: EnvironmentVariables.optional(),
  clientToken: ClientToken.optional(),
  // Cubby extensions (the official client sends them only when told to, see src/client): the
  // build's own caps. Bounded loosely here; the core holds them to the operator's maximums.
  cubbyBuildDiskMiB: int(1, 1 << 30).optional(),
  cubbyBuildMemoryMiB: int(1, 1 << 30).optional(),
  // The network of RUN steps (default internet: public addresses and DNS), and a build that
  // reuses nothing from the layer cache.
  cubbyBuildNetwork: z.enum(['internet', 'none']).optional(),
  cubbyBuildNoCache: z.boolean().optional(),
  // Start the app under Cubby's in-sandbox agent (the E2B protocol on port 49983).
  cubbyAgent: z.boolean().optional(),
  // Each microVM's own limits (README "Limits inside a microVM"): its disk, its process and thread
  // cap, and the per-process address-space limit (0: none, for runtimes that reserve a lot).
  cubbyDiskMiB: int(256, 1 << 20).optional(),
  cubbyMaxProcesses: int(16, 65_536).optional(),
  cubbyAddressSpaceMiB: int(0, 1 << 20).optional(),
};

export const CreateMicrovmImageBody = z.strictObject({
  ...versionSettings,
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-zA-Z0-9_-]+$/, 'must match [a-zA-Z0-9-_]+'),
  tags: Tags.optional(),
});
export type CreateMicrovmImageBody = z.infer<typeof CreateMicrovmImageBody>;

export const UpdateMicrovmImageBody = z.strictObject(versionSettings);
export type VersionSettingsBody = z.infer<typeof UpdateMicrovmImageBody>;

export const ImagePath = z.strictObject({ imageIdentifier: ImageIdentifier });

export const ListMicrovmImagesQuery = z.strictObject({
  ...pageQuery,
  nameFilter: nonBlank(1, 2048).optional(),
});

export const Empty = z.strictObject({});
