/** Reads Prometheus text exposition as served at /metrics, for assertions on real scrapes. */
import { httpGet } from './http.js';

/** The value of one sample, matched by name and exact labels; undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
    .sort();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '')
      .split(/,(?=[a-zA-Z_][a-zA-Z0-9_]*=")/)
      .filter(Boolean)
      .sort();
    if (got.length === want.length && got.every((g, i) => g === want[i])) return Number(m[3]);
  }
  return undefined;
}

/** Scrapes until `ok` holds for the text (values are read at scrape time, through a short cache). */
export async function scrapeUntil(apiUrl: string, ok: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  do {
    const r = await httpGet(`${apiUrl}/metrics`);
    if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
    text = r.body;
    if (ok(text)) return text;
    await new Promise((res) => setTimeout(res, 250));
  } while (Date.now() < deadline);
  throw new Error(
    `/metrics never showed what was expected; last scrape:\n${text
      .split('\n')
      .filter((l) => l.startsWith('cubby_tenant') || l.startsWith('cubby_microvms'))
      .join('\n')}`,
  );
}
