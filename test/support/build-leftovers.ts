/**
 * What image builds leave on the host, found by owner: build directories in the shared buildah
 * storage name the pid of the process that made them, and any process still working for a build
 * names its directory on its command line.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export const BUILDS_ROOT = path.join(process.env.CUBBY_CACHE_DIR ?? '/var/cache/cubby', 'buildah', 'builds');

/** Build directories whose owner file names one of `pids`. */
export async function buildDirsOwnedBy(pids: number[]): Promise<string[]> {
  const out: string[] = [];
  for (const id of await fs.readdir(BUILDS_ROOT).catch(() => [] as string[])) {
    const owner = Number(await fs.readFile(path.join(BUILDS_ROOT, id, 'owner'), 'utf8').catch(() => '0'));
    if (pids.includes(owner)) out.push(path.join(BUILDS_ROOT, id));
  }
  return out;
}

/** Processes (pid and command line) whose command line names something inside one of `dirs`. */
export async function processesUnder(dirs: string[]): Promise<string[]> {
  if (dirs.length === 0) return [];
  const out: string[] = [];
  for (const p of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    const argv = (await fs.readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
    if (argv.some((a) => dirs.some((d) => a === d || a.includes(`${d}/`)))) out.push(`${p} ${argv.join(' ').slice(0, 200)}`);
  }
  return out;
}
