/** How the CLI prints: --json for scripts, aligned text for people, progress on stderr. */
export interface OutputOptions {
  json?: boolean;
}

function plain(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  if (v === undefined || v === null) return '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function print(value: unknown, opts: OutputOptions): void {
  if (opts.json) {
    process.stdout.write(JSON.stringify(value, null, 2) + '\n');
    return;
  }
  if (Array.isArray(value)) {
    table(value as Array<Record<string, unknown>>);
    return;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([k]) => k !== '$metadata');
    const w = Math.max(...entries.map(([k]) => k.length), 1);
    for (const [k, v] of entries) process.stdout.write(`${k.padEnd(w)}  ${plain(v)}\n`);
    return;
  }
  process.stdout.write(plain(value) + '\n');
}

export function table(rows: Array<Record<string, unknown>>): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => cols.map((c) => plain(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  process.stdout.write(cols.map((c, i) => c.toUpperCase().padEnd(widths[i] ?? 0)).join('  ') + '\n');
  for (const r of cells)
    process.stdout.write(
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd() + '\n',
    );
}

export function progress(msg: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${msg}`);
  else process.stderr.write(`${msg}\n`);
}

export function progressDone(msg?: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${msg ? msg + '\n' : ''}`);
  else if (msg) process.stderr.write(`${msg}\n`);
}
