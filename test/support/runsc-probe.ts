/**
 * What the host sees of a daemon's sandboxes, read straight from runsc and the runtime's
 * records (not through Cubby), so tests can check Cubby's view against the truth and hit the
 * real processes from outside.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runCommand } from '../../src/util/command.js';

export interface RunscEntry {
  id: string;
  pid: number;
  status: string;
}

export function runscRoot(dataDir: string): string {
  return path.join(dataDir, 'runtime', 'runsc');
}

/** `runsc list` of the daemon's runtime root. */
export async function runscList(dataDir: string): Promise<RunscEntry[]> {
  const r = await runCommand('runsc', [`--root=${runscRoot(dataDir)}`, 'list', '-format=json'], { timeoutMs: 15_000 });
  if (r.code !== 0) return [];
  const parsed = JSON.parse(r.stdout || '[]') as Array<{ id: string; pid: number; status: string }> | null;
  return (parsed ?? []).map((e) => ({ id: e.id, pid: e.pid, status: e.status }));
}

/** The host pid of a sandbox (runsc's sandbox process), or undefined when runsc knows none. */
export async function sandboxPid(dataDir: string, id: string): Promise<number | undefined> {
  const e = (await runscList(dataDir)).find((x) => x.id === id);
  return e && e.pid > 0 ? e.pid : undefined;
}

/**
 * Host pids of the sandbox's long-lived processes (the sentry and its gofer). Short-lived runsc
 * calls that also name the id (exec, state, events from the daemon's own polling) are left out:
 * they end on their own, so a test that later checks these pids are alive would blame the probe.
 */
export async function sandboxHostPids(id: string): Promise<number[]> {
  const r = await runCommand('pgrep', ['-f', id], { timeoutMs: 10_000 });
  const pids = r.stdout
    .split('\n')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const out: number[] = [];
  for (const pid of pids) {
    const argv = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').then(
      (c) => c.split('\0'),
      () => [] as string[],
    );
    if (argv.some((a) => a === 'boot' || a === 'gofer') || /^runsc-(sandbox|gofer)$/.test(argv[0] ?? '')) out.push(pid);
  }
  return out;
}

/** The sandbox's network as the runtime recorded it (addresses of its /30). */
export async function sandboxNetwork(dataDir: string, id: string): Promise<{ hostAddress: string; sandboxAddress: string } | undefined> {
  try {
    const rec = JSON.parse(await fs.readFile(path.join(dataDir, 'runtime', 'sandboxes', id, 'meta.json'), 'utf8')) as {
      network?: { hostAddress: string; sandboxAddress: string };
    };
    return rec.network;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Host pids of runsc command-line processes (not sandbox processes) of the daemon on `dataDir`,
 * optionally only those running `verb` (restore, checkpoint, ...) on sandbox `id`.
 */
export async function runscCommandPids(dataDir: string, verb?: string, id?: string): Promise<number[]> {
  const root = `--root=${runscRoot(dataDir)}`;
  const out: number[] = [];
  for (const p of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const argv = (await fs.readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
    if (path.basename(argv[0] ?? '') !== 'runsc' || !argv.includes(root)) continue;
    if ((verb === undefined || argv.includes(verb)) && (id === undefined || argv.at(-1) === id)) out.push(Number(p));
  }
  return out;
}

/** Direct children of `pid` whose command line mentions every one of `words`. */
export async function childrenMatching(pid: number, words: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const tid of await fs.readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const kids = (await fs.readFile(`/proc/${pid}/task/${tid}/children`, 'utf8').catch(() => '')).split(' ').filter(Boolean);
    for (const k of kids) {
      const cmd = (await fs.readFile(`/proc/${k}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ');
      if (words.every((w) => cmd.includes(w))) out.push(Number(k));
    }
  }
  return out;
}
