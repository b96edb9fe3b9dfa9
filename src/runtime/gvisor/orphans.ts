/**
 * runsc commands (run, restore, checkpoint, ...) are started detached so a daemon's signals do
 * not reach sandboxes; if the daemon is killed, the commands it had in flight live on and could
 * finish after a new daemon has reconciled (a restore completing behind its back). On start
 * the runtime ends every such command on its own runsc root. The sandboxes themselves (`boot`
 * and `gofer` processes) are left alone: reconciliation decides about those.
 */
import { promises as fs } from 'node:fs';

const COMMANDS = new Set(['run', 'restore', 'checkpoint', 'create', 'start', 'delete', 'exec', 'pause', 'resume', 'kill', 'state', 'list']);

async function argv(pid: string): Promise<string[]> {
  const raw = await fs.readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0));
  return raw.toString('utf8').split('\0').filter(Boolean);
}

/** Pids of runsc commands (not sandboxes) on this root, other than this process's own children. */
export async function orphanCommands(root: string): Promise<number[]> {
  const flag = `--root=${root}`;
  const out: number[] = [];
  for (const pid of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const args = await argv(pid);
    if (!args.includes(flag)) continue;
    const verb = args.find((a, i) => i > 0 && !a.startsWith('-'));
    if (!verb || !COMMANDS.has(verb)) continue;
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === process.pid) continue;
    out.push(Number(pid));
  }
  return out;
}

/** SIGKILLs `pids` and waits (up to `waitMs`) until they are gone from /proc; returns them. */
async function killAndWait(pids: number[], waitMs: number): Promise<number[]> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  const gone = (p: number) =>
    fs.access(`/proc/${p}`).then(
      () => false,
      () => true,
    );
  const deadline = Date.now() + waitMs;
  while (pids.length && Date.now() < deadline && !(await Promise.all(pids.map(gone))).every(Boolean)) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return pids;
}

export async function killOrphanCommands(root: string, waitMs = 5000): Promise<number[]> {
  const pids = await orphanCommands(root);
  return killAndWait(pids, waitMs);
}

/**
 * Sandbox processes (`boot`, `gofer`) of one sandbox that runsc no longer knows: a restore
 * killed half way can leave them running with no state file, where `runsc delete` cannot see
 * them. Matched by this root and the sandbox's bundle path.
 */
export async function killSandboxProcesses(root: string, bundle: string, waitMs = 5000): Promise<number[]> {
  const flag = `--root=${root}`;
  const bundleFlag = `--bundle=${bundle}`;
  const pids: number[] = [];
  for (const pid of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const args = await argv(pid);
    if (args.includes(flag) && args.includes(bundleFlag)) pids.push(Number(pid));
  }
  return killAndWait(pids, waitMs);
}
