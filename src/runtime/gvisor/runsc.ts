/** Thin, typed wrapper over the runsc command line. */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { runCommand, tail, type CommandResult } from '../../util/command.js';
import { CubbyError, type ErrorCode } from '../../errors/index.js';

export interface RunscOptions {
  binary: string;
  root: string;
  platform: string;
  overlay: string;
  /** When set, runsc writes debug logs here (CUBBY_RUNSC_DEBUG_DIR): for diagnosing runsc itself. */
  debugDir?: string;
}

export interface RunscState {
  id: string;
  pid: number;
  status: string;
}

export class Runsc {
  constructor(readonly opts: RunscOptions) {}

  /**
   * Flags every runsc invocation that touches a sandbox must share (restore needs the same).
   * `overlay` names this sandbox's medium (its own disk); `bootLog` gets the sandbox's info log,
   * whose "application exiting with ..." line says how the app ended.
   */
  globalFlags(sandbox: { overlay?: string; bootLog?: string } = {}): string[] {
    const o = this.opts;
    const debug = o.debugDir
      ? ['--debug', `--debug-log=${o.debugDir}/`]
      : sandbox.bootLog
        ? [`--debug-log=${sandbox.bootLog}`, '--debug-command=boot']
        : [];
    return [
      `--root=${o.root}`,
      `--platform=${o.platform}`,
      '--network=sandbox',
      '--net-disconnect-ok',
      `--overlay2=${sandbox.overlay ?? o.overlay}`,
      ...debug,
    ];
  }

  async call(args: string[], code: ErrorCode, what: string, timeoutMs = 60_000): Promise<CommandResult> {
    const r = await runCommand(this.opts.binary, [...this.globalFlags(), ...args], { timeoutMs });
    if (r.code !== 0) throw new CubbyError(code, `${what} failed: ${tail(r.stderr || r.stdout, 1500) || `exit ${r.code ?? r.signal}`}`);
    return r;
  }

  /**
   * Starts `run`/`restore` detached. runsc of this build refuses the sandbox network stack on
   * kernels >= 6.11 from the root network namespace (gvisor#10704); hiding /proc/sys/net in a
   * private mount namespace works around it, and our spec always names an explicit netns.
   * The sandbox inherits stdout/stderr: they go to its bounded log.
   */
  startDetached(
    args: string[],
    logFd: number,
    timeoutMs: number,
    sandbox: { overlay?: string; bootLog?: string } = {},
  ): Promise<{ code: number | null }> {
    const cmd = [this.opts.binary, ...this.globalFlags(sandbox), ...args].map(shellQuote).join(' ');
    return new Promise((resolve, reject) => {
      const child = spawn(
        'unshare',
        ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o ro tmpfs /proc/sys/net && exec ${cmd}`],
        {
          stdio: ['ignore', logFd, logFd],
          detached: true, // its own process group: a daemon's Ctrl-C must not reach the sandbox
        },
      );
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code });
      });
    });
  }

  async state(id: string): Promise<RunscState | undefined> {
    const r = await runCommand(this.opts.binary, [`--root=${this.opts.root}`, 'state', id], { timeoutMs: 15_000 });
    if (r.code !== 0) return undefined;
    try {
      const s = JSON.parse(r.stdout) as { id: string; pid: number; status: string };
      return { id: s.id, pid: s.pid, status: s.status };
    } catch {
      return undefined;
    }
  }

  /** Every container on this root; throws when runsc cannot tell (never guesses "none"). */
  async list(): Promise<RunscState[]> {
    const r = await runCommand(this.opts.binary, [`--root=${this.opts.root}`, 'list', '-format=json'], { timeoutMs: 15_000 });
    if (r.code !== 0) throw new CubbyError('RUNTIME_COMMAND_FAILED', `runsc list failed: ${tail(r.stderr)}`);
    try {
      const all = JSON.parse(r.stdout || '[]') as Array<{ id: string; pid: number; status: string }> | null;
      return (all ?? []).map((s) => ({ id: s.id, pid: s.pid, status: s.status }));
    } catch {
      throw new CubbyError('RUNTIME_COMMAND_FAILED', 'runsc list answered something that is not JSON');
    }
  }

  /** Ids of the containers runsc has records of on this root (no query to any sandbox). */
  async knownIds(): Promise<string[]> {
    const names = await fs.readdir(this.opts.root).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [] as string[];
      throw e;
    });
    return [...new Set(names.flatMap((n) => /^([a-z0-9]+)_sandbox:[a-z0-9]+\.state$/.exec(n)?.[1] ?? []))];
  }

  /** Kills and deletes a sandbox; quiet when it is already gone. */
  async delete(id: string): Promise<void> {
    const r = await runCommand(this.opts.binary, [`--root=${this.opts.root}`, 'delete', '-force', id], { timeoutMs: 30_000 });
    if (r.code !== 0 && !/does not exist|not found|no such/i.test(r.stderr)) {
      throw new CubbyError('RUNTIME_COMMAND_FAILED', `runsc delete ${id} failed: ${tail(r.stderr)}`);
    }
  }
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\-=./:,@%+]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
