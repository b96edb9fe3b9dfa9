/**
 * Why a failed build failed, when it hit one of its caps: read from what happened, never guessed
 * from an exit code. Disk: ENOSPC in the build's output, or its file system (nearly) full. Memory:
 * the kernel's own record of a memory-cgroup OOM kill in the cgroup of one of the build's RUN
 * steps (runsc names a step's cgroup after buildah's container id; a step's sandbox dies whole,
 * which buildah reports only as "container exited on killed", the same as a `kill -9`).
 * Undefined: an ordinary failure (the failing step and the log tail say why).
 */
import { promises as fs } from 'node:fs';
import { runCommand } from '../../util/command.js';
import { diskSpace, mib } from './build-disk.js';

export interface Caps {
  diskBytes: number;
  memoryBytes: number;
  /** The wrapper's list of the build's container ids (runsc-wrapper.ts). */
  containersFile: string;
}

const NO_SPACE = /no space left on device|ENOSPC/i;

export function diskCapMessage(bytes: number): string {
  return `the build exceeded its disk cap of ${mib(bytes)} MiB`;
}

export function memoryCapMessage(bytes: number): string {
  return `a RUN step exceeded the build's memory cap of ${mib(bytes)} MiB (killed)`;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether the kernel log records an OOM kill in the memory cgroup of one of these containers. */
export async function oomKilled(containerIds: string[]): Promise<boolean> {
  if (containerIds.length === 0) return false;
  const r = await runCommand('dmesg', [], { timeoutMs: 10_000 }).catch(() => undefined);
  if (r?.code !== 0) return false;
  const re = new RegExp(`oom_memcg=[^,\\s]*/(?:${containerIds.map(escape).join('|')})(?=[,\\s]|$)`);
  return re.test(r.stdout);
}

export async function failureReason(output: string, dataDir: string, caps: Caps): Promise<string | undefined> {
  const space = await diskSpace(dataDir);
  // A file system with (almost) nothing left: 1 MiB or 1 %, whichever is more.
  const full = space !== undefined && space.free <= Math.max(1024 * 1024, space.total / 100);
  if (NO_SPACE.test(output) || full) return diskCapMessage(caps.diskBytes);
  const ids = (await fs.readFile(caps.containersFile, 'utf8').catch(() => '')).split('\n').filter((id) => /^[\w.-]+$/.test(id));
  if (/exited on killed|exit status 137\b|signal: killed/i.test(output) && (await oomKilled(ids)))
    return memoryCapMessage(caps.memoryBytes);
  return undefined;
}
