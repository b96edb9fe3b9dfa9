/**
 * The in-sandbox agent as sandboxes see it: a content-addressed copy under the data directory
 * (<dataDir>/agent/<sha256>/cubby-agent), bind mounted read-only. A checkpoint records that path,
 * so a snapshot always restores with the exact binary it was taken with, whatever is rebuilt later.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/agent/cubby-agent, as scripts/build-agent.sh leaves it (this file runs from dist/src/daemon). */
export function defaultAgentSource(): string {
  return process.env.CUBBY_AGENT_BINARY ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../agent/cubby-agent');
}

/** The installed copy's path, or undefined when there is no agent binary to install. */
export async function installAgent(dataDir: string, source = defaultAgentSource()): Promise<string | undefined> {
  const bytes = await fs.readFile(source).catch(() => undefined);
  if (!bytes) return undefined;
  const digest = createHash('sha256').update(bytes).digest('hex');
  const dir = path.join(dataDir, 'agent', digest);
  const target = path.join(dir, 'cubby-agent');
  const ok = await fs.stat(target).then(
    (st) => st.size === bytes.length,
    () => false,
  );
  if (!ok) {
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    const tmp = `${target}.${process.pid}.tmp`;
    await fs.writeFile(tmp, bytes, { mode: 0o555 });
    await fs.rename(tmp, target);
  }
  return target;
}
