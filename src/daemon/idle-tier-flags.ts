/**
 * The idle tiers as daemon flags (or CUBBY_* variables): how soon an idle microVM is frozen in
 * memory, the host memory watermark below which frozen microVMs are written to disk, and whether
 * a shutdown writes them to disk first. See src/core/microvms/idle-tiers.ts.
 */
import type { IdleTierConfig } from '../core/microvms/idle-tiers.js';

export interface IdleTierFlags {
  freezeAfterSeconds?: number | string;
  memoryLowWatermarkMib?: number | string;
  keepFrozenOnShutdown?: boolean;
}

/** The daemon's defaults (the core's own default is no frozen tier). */
export const DAEMON_FREEZE_AFTER_SECONDS = 10;
export const DAEMON_MEMORY_LOW_WATERMARK_MIB = 1024;

function whole(raw: number | string | undefined, flag: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${flag}: expected a whole number >= 0, got ${String(raw)}`);
  return n;
}

export function idleTierSettings(o: IdleTierFlags, env: NodeJS.ProcessEnv = process.env): IdleTierConfig {
  const freeze = whole(o.freezeAfterSeconds ?? env.CUBBY_FREEZE_AFTER_SECONDS, '--freeze-after-seconds');
  const low = whole(o.memoryLowWatermarkMib ?? env.CUBBY_MEMORY_LOW_WATERMARK_MIB, '--memory-low-watermark-mib');
  const keep = o.keepFrozenOnShutdown ?? env.CUBBY_KEEP_FROZEN_ON_SHUTDOWN === 'true';
  return {
    freezeAfterSeconds: freeze ?? DAEMON_FREEZE_AFTER_SECONDS,
    memoryLowWatermarkBytes: (low ?? DAEMON_MEMORY_LOW_WATERMARK_MIB) * 1024 * 1024,
    spillOnStop: !keep,
  };
}
