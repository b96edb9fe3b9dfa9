import { readFileSync } from 'node:fs';

/**
 * A pid plus its start time (clock ticks since boot, field 22 of /proc/<pid>/stat): pids are
 * reused, so a pid alone cannot tell a dead allocator from an unrelated new process.
 */
export interface ProcessIdentity {
  pid: number;
  start: string | null;
}

function readStat(pid: number): { state: string; start: string } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const start = fields[19];
  return state === undefined || start === undefined ? null : { state, start };
}

export function selfIdentity(): ProcessIdentity {
  return { pid: process.pid, start: readStat(process.pid)?.start ?? null };
}

/** True while that very process runs (a zombie counts as dead). */
export function isAlive(id: ProcessIdentity): boolean {
  if (!Number.isInteger(id.pid) || id.pid <= 0) return false;
  const stat = readStat(id.pid);
  if (stat === null || stat.state === 'Z' || stat.state === 'X') return false;
  return id.start === null || stat.start === id.start;
}
