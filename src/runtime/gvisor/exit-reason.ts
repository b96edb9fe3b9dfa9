/**
 * Why a sandbox stopped, in words a user can act on. runsc cannot tell once the sandbox is gone
 * (`runsc wait` then says "exit status is unavailable"), so the evidence is gathered from what
 * outlives it: the memory cgroup's OOM-kill count (the host killed the sandbox for exceeding its
 * memory), the pids cgroup's refusals, and the sandbox's boot log, where runsc writes
 * "application exiting with exit status N" or "... killed by signal N" (info level, ~7 KB).
 */
import { promises as fs } from 'node:fs';
import { constants } from 'node:os';

const MiB = 1024 * 1024;

export interface ExitEvidence {
  /** The sandbox's cgroup directory in the memory controller. */
  memoryCgroup: string;
  /** ... and in the pids controller. */
  pidsCgroup: string;
  bootLog: string;
  memoryBytes?: number;
  pids?: number;
}

async function read(file: string): Promise<string> {
  return fs.readFile(file, 'utf8').catch(() => '');
}

async function tailOf(file: string, bytes: number): Promise<string> {
  const fh = await fs.open(file, 'r').catch(() => undefined);
  if (!fh) return '';
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, bytes);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    return buf.toString('utf8');
  } finally {
    await fh.close();
  }
}

function signalName(n: number): string {
  const name = Object.entries(constants.signals).find(([, v]) => v === n)?.[0];
  return name ? `${n} (${name})` : String(n);
}

export async function exitReason(e: ExitEvidence): Promise<string | undefined> {
  const oom = /^oom_kill (\d+)/m.exec(await read(`${e.memoryCgroup}/memory.oom_control`));
  if (oom && Number(oom[1]) > 0) {
    const size = e.memoryBytes ? `its ${Math.round(e.memoryBytes / MiB)} MiB` : 'its memory limit';
    return `out of memory: the sandbox exceeded ${size} and was killed (give it more memory, or hold less data at once)`;
  }
  const exit = /application exiting with (?:exit status (\d+)|killed by signal (\d+))/.exec(
    [...(await tailOf(e.bootLog, 64 * 1024)).matchAll(/application exiting with [^\n]*/g)].pop()?.[0] ?? '',
  );
  if (exit?.[1] !== undefined) return `the app exited with code ${exit[1]}`;
  if (exit?.[2] !== undefined) return `the app was killed by signal ${signalName(Number(exit[2]))}`;
  const pidsMax = /^max (\d+)/m.exec(await read(`${e.pidsCgroup}/pids.events`));
  if (pidsMax && Number(pidsMax[1]) > 0)
    return `too many processes: the sandbox reached its host task limit${e.pids ? ` of ${e.pids}` : ''} and was killed`;
  return undefined;
}
