/** The pure quota arithmetic: effective limits and the admission check with its error. */
import { CubbyError } from '../../errors/index.js';
import {
  QUOTA_INFO,
  QUOTA_NAMES,
  type QuotaLimits,
  type QuotaName,
  type QuotaOverrides,
  type QuotaStatus,
  type QuotaUsage,
} from './types.js';

export function effectiveLimits(defaults: QuotaLimits, overrides: QuotaOverrides | undefined): QuotaLimits {
  const out = { ...defaults };
  for (const n of QUOTA_NAMES) {
    const v = overrides?.[n];
    if (v !== undefined) out[n] = v;
  }
  return out;
}

/**
 * Refuses (the quota's error) when taking `adding` more would go past the limit. adding 0 asks
 * "is the tenant already over?" (used > limit, e.g. after the operator lowered it).
 */
export function checkQuota(name: QuotaName, limit: number, used: number, adding: number): void {
  const over = adding > 0 ? used + adding > limit : used > limit;
  if (!over) return;
  const info = QUOTA_INFO[name];
  const what = adding > 0 ? `this needs ${adding} more` : 'it is over the limit';
  throw new CubbyError(
    info.code,
    `quota exceeded: ${info.label} (${name}): limit ${limit}, in use ${used}; ${what}. Free some or ask the operator to raise it.`,
    { details: { quota: name, limit, used, adding } },
  );
}

export function statusOf(limits: QuotaLimits, usage: QuotaUsage, overrides: QuotaOverrides | undefined): QuotaStatus[] {
  return QUOTA_NAMES.map((name) => ({
    name,
    limit: limits[name],
    used: usage[name],
    unit: QUOTA_INFO[name].unit,
    overridden: overrides?.[name] !== undefined,
  }));
}

/** Overrides must be whole numbers >= 0 (0 = none allowed). */
export function validateOverrides(o: QuotaOverrides): void {
  for (const [k, v] of Object.entries(o)) {
    if (!(QUOTA_NAMES as readonly string[]).includes(k)) throw new CubbyError('CUBBY_VALIDATION', `unknown quota ${k}`);
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0))
      throw new CubbyError('CUBBY_VALIDATION', `quota ${k} must be a whole number >= 0, got ${String(v)}`);
  }
}
