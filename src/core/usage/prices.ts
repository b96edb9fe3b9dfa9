/**
 * Default prices for the cost estimate, in one place. They are ILLUSTRATIVE only, of the order of
 * public per-second container pricing (about USD 0.04 per vCPU-hour, 0.0044 per GiB-hour of
 * memory, 0.05 per GiB-month of snapshot storage); operators set their own.
 */
import { CubbyError } from '../../errors/index.js';
import type { UsagePrices } from './types.js';

export const DEFAULT_PRICES: Readonly<UsagePrices> = Object.freeze({
  currency: 'USD',
  vcpuSecond: 0.0000112,
  gibSecond: 0.0000012,
  snapshotGibMonth: 0.05,
});

/** A billing month: 30 days. */
export const SECONDS_PER_MONTH = 30 * 24 * 3600;
export const GIB = 1024 ** 3;

const NUMERIC: ReadonlyArray<keyof UsagePrices> = ['vcpuSecond', 'gibSecond', 'snapshotGibMonth'];

/**
 * Parses "vcpuSecond=0.00001,gibSecond=0.000001,snapshotGibMonth=0.05,currency=EUR" (any subset)
 * into overrides. CUBBY_VALIDATION on an unknown name or a value that is not a number >= 0.
 */
export function parsePrices(text: string): Partial<UsagePrices> {
  const out: Partial<UsagePrices> = {};
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = part.indexOf('=');
    const key = (i < 0 ? part : part.slice(0, i)).trim();
    const value = i < 0 ? '' : part.slice(i + 1).trim();
    if (key === 'currency') {
      if (!/^[A-Za-z]{1,8}$/.test(value)) throw new CubbyError('CUBBY_VALIDATION', `prices: currency '${value}' must be 1-8 letters`);
      out.currency = value.toUpperCase();
      continue;
    }
    if (!(NUMERIC as readonly string[]).includes(key)) {
      throw new CubbyError('CUBBY_VALIDATION', `prices: unknown price '${key}' (use ${NUMERIC.join(', ')}, currency)`);
    }
    const n = Number(value);
    if (value === '' || !Number.isFinite(n) || n < 0)
      throw new CubbyError('CUBBY_VALIDATION', `prices: ${key}=${value} is not a number >= 0`);
    (out as Record<string, number>)[key] = n;
  }
  return out;
}

/** The defaults (or a base) with overrides applied. */
export function withPrices(overrides: Partial<UsagePrices> = {}, base: UsagePrices = DEFAULT_PRICES): UsagePrices {
  const p: UsagePrices = { ...base };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (p as unknown as Record<string, unknown>)[k] = v;
  return p;
}
