/** Requests of the image version and build operations. */
import { z } from 'zod';
import { ImageIdentifier, ImageVersionString, nonBlank, pageQuery } from './common.js';

export const VersionPath = z.strictObject({ imageIdentifier: ImageIdentifier, imageVersion: ImageVersionString });

export const ListVersionsQuery = z.strictObject(pageQuery);

export const UpdateMicrovmImageVersionBody = z.strictObject({ status: z.enum(['ACTIVE', 'INACTIVE']) });

export const BuildPath = z.strictObject({
  imageIdentifier: ImageIdentifier,
  imageVersion: ImageVersionString,
  buildId: nonBlank(1, 256),
});

export const ListBuildsQuery = z.strictObject({
  ...pageQuery,
  architecture: z.enum(['ARM_64', 'X86_64']).optional(),
  chipset: nonBlank(1, 64).optional(),
  chipsetGeneration: nonBlank(1, 64).optional(),
});
