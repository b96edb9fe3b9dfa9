import { spawn } from 'node:child_process';

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

/** Runs a command without a shell and collects its output; never rejects. */
export function exec(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
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
    child.on('error', (e) => { spawnError = e; });
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
