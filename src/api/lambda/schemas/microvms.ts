/** Requests of the microVM lifecycle operations. */
import { z } from 'zod';
import {
  ClientToken,
  Connectors,
  IdlePolicy,
  ImageIdentifier,
  ImageVersionString,
  Logging,
  MicrovmIdentifier,
  RoleArn,
  int,
  pageQuery,
} from './common.js';

export const MAX_DURATION_SECONDS = 28_800;
export const MAX_RUN_HOOK_PAYLOAD_BYTES = 16_384;

export const RunMicrovmBody = z.strictObject({
  imageIdentifier: ImageIdentifier,
  imageVersion: ImageVersionString.optional(),
  ingressNetworkConnectors: Connectors.optional(),
  egressNetworkConnectors: Connectors.optional(),
  executionRoleArn: RoleArn.optional(),
  idlePolicy: IdlePolicy.optional(),
  logging: Logging.optional(),
  runHookPayload: z
    .string()
    .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_RUN_HOOK_PAYLOAD_BYTES, `must be at most ${MAX_RUN_HOOK_PAYLOAD_BYTES} bytes`)
    .optional(),
  maximumDurationInSeconds: int(1, MAX_DURATION_SECONDS).optional(),
  clientToken: ClientToken.optional(),
});
export type RunMicrovmBody = z.infer<typeof RunMicrovmBody>;

export const MicrovmPath = z.strictObject({ microvmIdentifier: MicrovmIdentifier });

export const ListMicrovmsQuery = z.strictObject({
  ...pageQuery,
  imageIdentifier: ImageIdentifier.optional(),
  imageVersion: ImageVersionString.optional(),
});
