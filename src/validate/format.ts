/** Number formatting shared by the usage and validate reports. */

export function ms(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  return n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`;
}

export function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = Math.round(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(r).padStart(2, '0')}s`;
}

export function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

/** Money with enough digits to see sub-cent amounts. */
export function money(n: number, currency: string): string {
  if (n === 0) return `0 ${currency}`;
  return `${n >= 1 ? n.toFixed(2) : n.toPrecision(3)} ${currency}`;
}

/** Nearest-rank percentile of a sample (p in 0-100). */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
