/** Parses a usage pattern such as "active=2h,idle=6h,suspended=16h" (units s, m, h; bare = seconds). */
import { CubbyError } from '../../errors/index.js';
import type { DayPattern } from './cost.js';

const UNIT: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600 };
const KEYS = { active: 'activeSeconds', idle: 'idleSeconds', suspended: 'suspendedSeconds' } as const;

export const DEFAULT_PATTERN = 'active=2h,idle=6h,suspended=16h';

export function parsePattern(text: string): DayPattern {
  const out: DayPattern = { activeSeconds: 0, idleSeconds: 0, suspendedSeconds: 0 };
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(active|idle|suspended)=(\d+(?:\.\d+)?)([smh]?)$/.exec(part);
    if (!m) throw new CubbyError('CUBBY_VALIDATION', `pattern: '${part}' is not active|idle|suspended=<number>[s|m|h]`);
    out[KEYS[m[1] as keyof typeof KEYS]] = Number(m[2]) * (UNIT[m[3] ?? ''] ?? 1);
  }
  if (out.activeSeconds + out.idleSeconds + out.suspendedSeconds > 24 * 3600) {
    throw new CubbyError('CUBBY_VALIDATION', `pattern: '${text}' adds up to more than 24 h`);
  }
  return out;
}
