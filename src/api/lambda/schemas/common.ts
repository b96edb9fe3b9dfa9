/**
 * Shapes shared by several operations, with the constraints of the service model
 * (API version 2025-09-09). Objects are strict: an unknown member is a ValidationException.
 */
import { z } from 'zod';

export const INT32_MAX = 2_147_483_647;

export const int = (min: number, max: number) => z.int().min(min).max(max);

/** The model's `[^\s]+` strings. */
export const nonBlank = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .regex(/^[^\s]+$/, 'must not contain whitespace');

/** A query parameter holding an integer (query values are strings on the wire). */
export const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,10}$/, 'must be an integer')
    .transform(Number)
    .pipe(int(min, max));

/** Every list operation: maxResults 1-50, an opaque nextToken. */
export const pageQuery = {
  maxResults: queryInt(1, 50).optional(),
  nextToken: z.string().min(1).max(2048).optional(),
};

export const ImageIdentifier = z.string().min(1).max(256);
export const ImageVersionString = nonBlank(1, 2048);
export const MicrovmIdentifier = z.string().min(1).max(256);

export const ClientToken = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export const RoleArn = z
  .string()
  .min(20)
  .max(2048)
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-/]+$/, 'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)');

const HookState = z.enum(['ENABLED', 'DISABLED']);

export const Hooks = z.strictObject({
  port: int(1, 65535).optional(),
  microvmHooks: z
    .strictObject({
      run: HookState.optional(),
      runTimeoutInSeconds: int(1, 60).optional(),
      resume: HookState.optional(),
      resumeTimeoutInSeconds: int(1, 60).optional(),
      suspend: HookState.optional(),
      suspendTimeoutInSeconds: int(1, 60).optional(),
      terminate: HookState.optional(),
      terminateTimeoutInSeconds: int(1, 60).optional(),
    })
    .optional(),
  microvmImageHooks: z
    .strictObject({
      ready: HookState.optional(),
      readyTimeoutInSeconds: int(1, 3600).optional(),
      validate: HookState.optional(),
      validateTimeoutInSeconds: int(1, 3600).optional(),
    })
    .optional(),
});
export type WireHooks = z.infer<typeof Hooks>;

const exactlyOne = (keys: string[]) => (v: Record<string, unknown>) => keys.filter((k) => v[k] !== undefined).length === 1;

/** A tagged union: exactly one of `disabled: {}` or `cloudWatch: {...}`. */
export const Logging = z
  .strictObject({
    disabled: z.strictObject({}).optional(),
    cloudWatch: z
      .strictObject({
        logGroup: z.string().min(1).max(512).optional(),
        logStream: z.string().min(1).max(512).optional(),
      })
      .optional(),
  })
  .refine(exactlyOne(['disabled', 'cloudWatch']), 'must set exactly one of disabled, cloudWatch');
export type WireLogging = z.infer<typeof Logging>;

export const IdlePolicy = z.strictObject({
  // AWS documents no minimum here; Cubby allows short idle times (aggressive density, tests).
  maxIdleDurationSeconds: int(1, INT32_MAX),
  suspendedDurationSeconds: int(0, INT32_MAX),
  autoResumeEnabled: z.boolean(),
  // Cubby extension: idle seconds before the frozen tier freezes it in memory (0 = never; absent: the host's default).
  cubbyFreezeAfterSeconds: int(0, INT32_MAX).optional(),
});

/** Network connector names (see mapping/egress.ts for the egress grammar). */
export const Connectors = z.array(z.string().min(1).max(2048)).max(10);

/** Keys a JSON object may hold but that must never be copied onto a plain object by assignment. */
const notPrototypeKey = (k: string) => k !== '__proto__';

const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
export const TagKey = z
  .string()
  .min(1)
  .max(128)
  .regex(TAG_TEXT, 'must contain only letters, numbers, spaces and _.:/=+-@')
  .refine((k) => !k.toLowerCase().startsWith('aws:'), "must not start with the reserved prefix 'aws:'")
  .refine(notPrototypeKey, "must not be '__proto__'");
export const TagValue = z.string().max(256).regex(TAG_TEXT, 'must contain only letters, numbers, spaces and _.:/=+-@');
export const MAX_TAGS = 50;
export const Tags = z.record(TagKey, TagValue).refine((t) => Object.keys(t).length <= MAX_TAGS, `must hold at most ${MAX_TAGS} tags`);

export const EnvironmentVariables = z
  .record(
    z
      .string()
      .min(1)
      .max(128)
      .regex(/^[a-zA-Z][a-zA-Z0-9_]*$/, 'must match [a-zA-Z][a-zA-Z0-9_]*'),
    z.string().max(8192),
  )
  .refine((e) => Object.keys(e).length <= 256, 'must hold at most 256 variables');
