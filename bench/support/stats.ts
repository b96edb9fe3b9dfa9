/** Medians, percentiles and the printed table every benchmark shares. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i] ?? NaN;
}
export const median = (xs: number[]): number => percentile(xs, 50);

export interface Row {
  metric: string;
  cubby: number[];
  raw?: number[];
  unit?: string;
  goal?: string;
}

export function printTable(title: string, rows: Row[]): void {
  const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
  console.log(`\n## ${title}`);
  console.log('| metric | cubby p50 | cubby p95 | raw runsc p50 | ratio (p50) | goal | n |');
  console.log('|---|---:|---:|---:|---:|---|---:|');
  for (const r of rows) {
    const unit = r.unit ?? 'ms';
    const c = median(r.cubby);
    const raw = r.raw ? median(r.raw) : NaN;
    const ratio = r.raw ? (c / raw).toFixed(2) + 'x' : '-';
    console.log(
      `| ${r.metric} | ${fmt(c)} ${unit} | ${fmt(percentile(r.cubby, 95))} ${unit} | ${r.raw ? `${fmt(raw)} ${unit}` : '-'} | ${ratio} | ${r.goal ?? ''} | ${r.cubby.length} |`,
    );
  }
}

export async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const v = await fn();
  return [performance.now() - t0, v];
}

/** One line per goal: met, or missed and by how much. `raw` given: the goal is a p50 ratio. */
export function printGoal(what: string, cubby: number[], raw: number[] | undefined, limit: number, unit = 'ms'): void {
  const c = median(cubby);
  if (raw) {
    const ratio = c / median(raw);
    const verdict =
      ratio <= limit
        ? 'met'
        : `MISSED by ${((ratio / limit - 1) * 100).toFixed(0)}% (${(c - limit * median(raw)).toFixed(1)} ${unit} over)`;
    console.log(`- goal ${what} <= ${limit}x raw: ${ratio.toFixed(2)}x -> ${verdict}`);
  } else {
    const verdict = c < limit ? 'met' : `MISSED by ${(c - limit).toFixed(1)} ${unit}`;
    console.log(`- goal ${what} < ${limit} ${unit}: ${c.toFixed(1)} ${unit} -> ${verdict}`);
  }
}

/** A goal that the p50 ratio cubby/raw stays at or above `min` (throughput). */
export function printGoalMinRatio(what: string, cubby: number[], raw: number[], min: number): void {
  const ratio = median(cubby) / median(raw);
  const verdict = ratio >= min ? 'met' : `MISSED by ${((1 - ratio / min) * 100).toFixed(0)}%`;
  console.log(`- goal ${what} >= ${min}x raw: ${ratio.toFixed(2)}x -> ${verdict}`);
}
