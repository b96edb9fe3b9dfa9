/**
 * The caps of an image build: disk (everything the build writes: layers, containers, temporary
 * files) and memory (each RUN step). An image may ask for its own, within the operator's
 * maximums; absent, the defaults apply (lowered to the maximum when the operator set it lower).
 */
import type { BuildCapSettings } from '../model.js';
import { CubbyError } from '../../errors/index.js';

export interface BuildCapLimits {
  diskMaxMiB: number;
  memoryMaxMiB: number;
}

export const BUILD_DISK_DEFAULT_MIB = 8192;
export const BUILD_MEMORY_DEFAULT_MIB = 2048;
export const BUILD_DISK_MIN_MIB = 256;
export const BUILD_MEMORY_MIN_MIB = 128;
export const DEFAULT_BUILD_CAP_LIMITS: BuildCapLimits = { diskMaxMiB: 32768, memoryMaxMiB: 8192 };

function check(what: string, v: number | undefined, min: number, max: number): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < min)
    throw new CubbyError('CUBBY_VALIDATION', `the build ${what} cap must be a whole number of MiB, at least ${min}`);
  if (v > max) throw new CubbyError('CUBBY_VALIDATION', `the build ${what} cap of ${v} MiB is over this host's maximum of ${max} MiB`);
}

/** Refuses caps under the minimum or over the operator's maximum (a validation error naming it). */
export function checkBuildCaps(b: BuildCapSettings | undefined, limits: BuildCapLimits = DEFAULT_BUILD_CAP_LIMITS): void {
  check('disk', b?.diskMiB, BUILD_DISK_MIN_MIB, limits.diskMaxMiB);
  check('memory', b?.memoryMiB, BUILD_MEMORY_MIN_MIB, limits.memoryMaxMiB);
}

/** The caps a build runs with. */
export function buildCaps(
  b: BuildCapSettings | undefined,
  limits: BuildCapLimits = DEFAULT_BUILD_CAP_LIMITS,
): { diskMiB: number; memoryMiB: number } {
  checkBuildCaps(b, limits);
  return {
    diskMiB: b?.diskMiB ?? Math.min(BUILD_DISK_DEFAULT_MIB, limits.diskMaxMiB),
    memoryMiB: b?.memoryMiB ?? Math.min(BUILD_MEMORY_DEFAULT_MIB, limits.memoryMaxMiB),
  };
}
