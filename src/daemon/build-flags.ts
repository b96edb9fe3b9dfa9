/**
 * The operator's build caps as daemon flags (or CUBBY_* variables): the most disk and RUN-step
 * memory an image may ask for its build, and the free space every build must leave on the host's
 * build-storage file system. Sizes in MiB.
 */
import type { BuildCapLimits } from '../core/images/build-caps.js';

export interface BuildFlags {
  buildDiskMaxMib?: number | string;
  buildMemoryMaxMib?: number | string;
  hostDiskReserveMib?: number | string;
  buildCacheMib?: number | string;
}

function mib(raw: number | string | undefined, flag: string, min: number): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${flag}: expected a whole number of MiB >= ${min}, got ${String(raw)}`);
  return n;
}

export function buildSettings(
  o: BuildFlags,
  env: NodeJS.ProcessEnv = process.env,
): { limits: Partial<BuildCapLimits>; hostReserveMiB?: number; cacheMiB?: number } {
  const disk = mib(o.buildDiskMaxMib ?? env.CUBBY_BUILD_DISK_MAX_MIB, '--build-disk-max-mib', 256);
  const memory = mib(o.buildMemoryMaxMib ?? env.CUBBY_BUILD_MEMORY_MAX_MIB, '--build-memory-max-mib', 128);
  const reserve = mib(o.hostDiskReserveMib ?? env.CUBBY_HOST_DISK_RESERVE_MIB, '--host-disk-reserve-mib', 0);
  const cache = mib(o.buildCacheMib ?? env.CUBBY_BUILD_CACHE_MIB, '--build-cache-mib', 0);
  return {
    ...(cache !== undefined ? { cacheMiB: cache } : {}),
    limits: { ...(disk !== undefined ? { diskMaxMiB: disk } : {}), ...(memory !== undefined ? { memoryMaxMiB: memory } : {}) },
    ...(reserve !== undefined ? { hostReserveMiB: reserve } : {}),
  };
}
