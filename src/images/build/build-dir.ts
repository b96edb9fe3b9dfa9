/**
 * A build's private directory and its removal. Removal undoes what a killed buildah or runsc may
 * leave: runsc sandboxes in the build's runsc state dir (force-deleted), overlay mounts under the
 * directory (unmounted), the build's capped file system (unmounted, loop device detached), then
 * the files (the disk's backing file with them).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { removeCgroupDir } from '../../util/cgroup.js';
import { runCommand } from '../../util/command.js';
import { DATA_DIR, detachOrphanLoops, releaseBuildDisk } from './build-disk.js';

const OWNER_FILE = 'owner';

export async function createBuildDir(buildsRoot: string, id: string): Promise<string> {
  const dir = path.join(buildsRoot, id);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.writeFile(path.join(dir, OWNER_FILE), String(process.pid));
  return dir;
}

async function sandboxes(runsc: string, stateDir: string): Promise<{ id: string; status: string }[]> {
  const r = await runCommand(runsc, [`--root=${stateDir}`, 'list', '-format=json'], { timeoutMs: 10_000 }).catch(() => undefined);
  if (r?.code !== 0) return [];
  try {
    return (JSON.parse(r.stdout) as { id: string; status: string }[] | null) ?? [];
  } catch {
    return [];
  }
}

async function forceDelete(runsc: string, stateDir: string, id: string): Promise<void> {
  await runCommand(runsc, [`--root=${stateDir}`, 'delete', '-force', id], { timeoutMs: 30_000 }).catch(() => undefined);
}

async function mountsUnder(dir: string): Promise<string[]> {
  const info = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  return info
    .split('\n')
    .map((l) => unescape(l.split(' ')[4] ?? ''))
    .filter((m) => m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}

/** Processes whose command line names something inside `dir` (buildah, runsc, the wrapper). */
async function processesUnder(dir: string): Promise<{ pid: number; argv: string[] }[]> {
  const out: { pid: number; argv: string[] }[] = [];
  for (const p of await fs.readdir('/proc')) {
    const pid = Number(p);
    if (!(pid > 0) || pid === process.pid) continue;
    const argv = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
    if (argv.some((a) => a.includes(dir + '/'))) out.push({ pid, argv });
  }
  return out;
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** Kills buildah with its whole process group (its per-step subprocess holds the sandboxes' zombies). */
async function killGroupOf(pid: number): Promise<void> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  if (pgrp > 1 && pgrp !== process.pid) {
    try {
      process.kill(-pgrp, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  kill(pid);
}

/** runsc leaves a sandbox's cgroups behind when its delete fails; its processes were just killed. */
async function removeCgroups(ids: string[]): Promise<void> {
  const controllers = await fs.readdir('/sys/fs/cgroup').catch(() => [] as string[]);
  for (const id of ids) {
    for (const c of [...controllers.map((x) => path.join('/sys/fs/cgroup', x, id)), path.join('/sys/fs/cgroup', id)]) {
      await removeCgroupDir(c, 5_000);
    }
  }
}

export async function removeBuildDir(dir: string, runsc: string): Promise<void> {
  const stateDir = path.join(dir, 'runsc');
  // A buildah still running here lost its owner (a crashed process): stop it first.
  for (const p of await processesUnder(dir)) if (path.basename(p.argv[0] ?? '') === 'buildah') await killGroupOf(p.pid);
  // Sandboxes still running belong to a killed build (timeout): stop them now.
  for (const s of await sandboxes(runsc, stateDir)) if (s.status !== 'stopped') await forceDelete(runsc, stateDir, s.id);
  // Deferred deletes (see runsc-wrapper.ts) end about a second after buildah's exit.
  const pids = (await fs.readFile(path.join(dir, 'deferred-deletes'), 'utf8').catch(() => ''))
    .split('\n')
    .map(Number)
    .filter((p) => p > 0);
  for (let i = 0; i < 75 && pids.some(isAlive); i++) await new Promise((r) => setTimeout(r, 200));
  for (const s of await sandboxes(runsc, stateDir)) await forceDelete(runsc, stateDir, s.id);
  for (const p of await processesUnder(dir)) kill(p.pid);
  const created = await fs.readFile(path.join(dir, 'containers'), 'utf8').catch(() => '');
  await removeCgroups(created.split('\n').filter((id) => /^[\w.-]+$/.test(id)));
  const disk = path.join(dir, DATA_DIR);
  for (const m of await mountsUnder(dir)) {
    if (m !== disk) await runCommand('umount', ['-l', m], { timeoutMs: 10_000 }).catch(() => undefined);
  }
  await releaseBuildDisk(dir);
  await fs.rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Directories of builds whose process is gone (crashed daemon or test): removed. */
export async function sweepBuildDirs(buildsRoot: string, runsc: string): Promise<string[]> {
  const removed: string[] = [];
  for (const id of await fs.readdir(buildsRoot).catch(() => [] as string[])) {
    const dir = path.join(buildsRoot, id);
    const pid = Number(await fs.readFile(path.join(dir, OWNER_FILE), 'utf8').catch(() => '0'));
    if (pid === process.pid || (pid > 0 && isAlive(pid))) continue;
    // No owner yet: maybe a build being set up right now; only an old one is a leftover.
    const st = await fs.stat(dir).catch(() => undefined);
    if (pid === 0 && (!st || Date.now() - st.mtimeMs < 60_000)) continue;
    await removeBuildDir(dir, runsc);
    removed.push(dir);
  }
  await detachOrphanLoops(buildsRoot);
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
