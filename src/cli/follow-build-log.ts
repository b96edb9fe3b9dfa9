/**
 * Follows an image version's build log while the CLI waits for the build: each call prints the
 * complete lines added since the last one (the daemon appends them as the build runs, step by
 * step), without their timestamps.
 */
import { cubbyExtension } from '../client/extension.js';

const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z /;

export function buildLogFollower(name: string, version: string, write: (line: string) => void): () => Promise<void> {
  let printed = 0;
  const url = `/cubby/v1/images/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/log`;
  return async () => {
    // The log may not exist yet (queued build): nothing to print.
    const text = await cubbyExtension('GET', url).catch(() => undefined);
    if (text === undefined) return;
    if (text.length < printed) printed = 0; // a new build of the same version
    const end = text.lastIndexOf('\n') + 1;
    if (end <= printed) return;
    for (const l of text.slice(printed, end).split('\n')) if (l) write(l.replace(STAMP, ''));
    printed = end;
  };
}
