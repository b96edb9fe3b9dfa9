// A node:test reporter that writes how long each test file took, slowest first, so the suite's
// budget can be checked file by file (scripts/test.sh sends it to dist/test-times.txt).
// The runner reports each file as a test named by its path; its time is the file's whole run.
import { relative } from 'node:path';

export default async function* fileTimes(source) {
  const rows = [];
  for await (const event of source) {
    const { name, file, details } = event.data ?? {};
    if (event.type !== 'test:complete' || !file || name !== file) continue;
    rows.push([relative(process.cwd(), file), details?.duration_ms ?? 0, details?.passed !== false]);
  }
  rows.sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((sum, [, ms]) => sum + ms, 0);
  yield `# seconds per test file (${rows.length} files, ${(total / 1000).toFixed(1)} s in all)\n`;
  for (const [name, ms, passed] of rows) yield `${(ms / 1000).toFixed(1).padStart(8)}  ${name}${passed ? '' : '  (failed)'}\n`;
}
