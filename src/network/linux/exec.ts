import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const found = new Map<string, string>();

/**
 * Absolute path of a system tool: PATH first, then the sbin directories, which a daemon's PATH
 * often lacks although ip, nft and sysctl live there. The bare name when nowhere (spawn then
 * reports it).
 */
export function toolPath(name: string): string {
  const cached = found.get(name);
  if (cached !== undefined) return cached;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      found.set(name, candidate);
      return candidate;
    } catch {
      // not here
    }
  }
  return name;
}

/** What a finished command left: its exit code (127 if it could not start, -1 if killed on timeout). */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Written to the command's stdin (for `ip -batch -` and `nft -f -`). */
  input?: string;
  /** The command is killed past this; network commands take milliseconds, so a hang is a bug. */
  timeoutMs?: number;
}

/** Runs a command (found with toolPath) without a shell and collects its output; never rejects. */
export function exec(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(toolPath(cmd), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let spawnError: Error | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 15_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      spawnError = e;
    });
    // A command that exits without reading all its input must not crash us with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    child.on('close', (code) => {
      clearTimeout(timer);
      let stderr = Buffer.concat(err).toString('utf8');
      if (spawnError) stderr += `${stderr ? '\n' : ''}${cmd}: ${spawnError.message}`;
      if (timedOut) stderr += `${stderr ? '\n' : ''}${cmd}: timed out`;
      resolve({
        code: timedOut ? -1 : spawnError ? 127 : (code ?? -1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr,
      });
    });
  });
}

/** One line naming a failed command and what it said, for error messages. */
export function describeFailure(cmd: string, args: readonly string[], res: ExecResult): string {
  const said = (res.stderr.trim() || res.stdout.trim()).replace(/\s+/g, ' ').slice(0, 2000);
  return `${[cmd, ...args].join(' ')} exited ${res.code}: ${said}`;
}
