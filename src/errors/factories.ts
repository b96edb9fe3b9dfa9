/**
 * Error factories (Fastify style): an error raised in several places is one code plus one
 * message template, so its text (which tests and clients read) is written once. Each `%s` of
 * the template takes the next argument, in order.
 */
import type { ErrorCode } from './codes.js';
import { CubbyError } from './cubby-error.js';

type Arg = string | number;
/** One argument per `%s` of the template. */
type ArgsOf<T extends string> = T extends `${string}%s${infer Rest}` ? [Arg, ...ArgsOf<Rest>] : [];

export interface ErrorFactory<T extends string> {
  (...args: ArgsOf<T>): CubbyError;
  readonly code: ErrorCode;
  readonly template: T;
}

export function createError<const T extends string>(code: ErrorCode, template: T): ErrorFactory<T> {
  const make = (...args: ArgsOf<T>): CubbyError => {
    let i = 0;
    return new CubbyError(
      code,
      template.replace(/%s/g, () => String(args[i++])),
    );
  };
  return Object.assign(make, { code, template });
}

/** The errors the core raises from more than one place. */
export const errors = {
  microvmNotFound: createError('MICROVM_NOT_FOUND', 'microVM %s not found'),
  /** logs, stats: what is read only from a running sandbox. */
  microvmNotRunning: createError('MICROVM_BAD_STATE', 'microVM %s is %s; %s are read from a running microVM'),
  imageNotFound: createError('IMAGE_NOT_FOUND', 'image %s not found'),
  imageVersionNotFound: createError('IMAGE_VERSION_NOT_FOUND', 'image %s has no version %s'),
  imageBuildNotFound: createError('IMAGE_BUILD_NOT_FOUND', 'build %s not found'),
  imageDeleting: createError('IMAGE_DELETING', 'image %s is being deleted'),
};
