/**
 * Processes started inside a sandbox with `runsc exec`. runsc exec does not forward signals
 * to the process inside, so kill() asks runsc to signal the process by its in-sandbox pid.
 * A terminal is a host pseudo-terminal (node-pty) that runsc hands to the process; resizing
 * the host side resizes the process's terminal.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import pty from 'node-pty';
import type { ExecHandle, ExecOptions, ExitStatus } from '../../core/ports/runtime.js';
import { processSpec } from './oci-spec.js';
import { runCommand } from '../../util/command.js';

export interface ExecContext {
  binary: string;
  root: string;
  id: string;
  /** A private directory for this exec's files (process spec, pid file). */
  workDir: string;
}

async function signalInside(ctx: ExecContext, pidFile: string, signal: NodeJS.Signals): Promise<void> {
  const pid = Number((await fs.readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!pid) return;
  await runCommand(ctx.binary, [`--root=${ctx.root}`, 'kill', `--pid=${pid}`, ctx.id, signal], { timeoutMs: 10_000 });
}

export async function startExec(ctx: ExecContext, opts: ExecOptions): Promise<ExecHandle> {
  await fs.mkdir(ctx.workDir, { recursive: true, mode: 0o700 });
  const pidFile = path.join(ctx.workDir, 'pid');
  const args = [`--root=${ctx.root}`, 'exec', `-internal-pid-file=${pidFile}`];
  if (opts.tty) {
    // A terminal needs a process spec (terminal: true); plain commands go as flags (one file less).
    const specFile = path.join(ctx.workDir, 'process.json');
    await fs.writeFile(specFile, JSON.stringify(processSpec(opts, undefined, true)), { mode: 0o600 });
    args.push(`-process=${specFile}`, ctx.id);
  } else {
    const p = processSpec(opts, undefined, false) as { env: string[]; cwd: string; user: { uid: number; gid: number } };
    args.push(`-cwd=${p.cwd}`, `-user=${p.user.uid}:${p.user.gid}`, ...p.env.map((e) => `-env=${e}`), ctx.id, ...opts.args);
  }
  const cleanup = () => fs.rm(ctx.workDir, { recursive: true, force: true });
  return opts.tty ? ptyExec(ctx, args, opts.tty, pidFile, cleanup) : pipeExec(ctx, args, pidFile, cleanup);
}

function pipeExec(ctx: ExecContext, args: string[], pidFile: string, cleanup: () => Promise<void>): ExecHandle {
  const child = spawn(ctx.binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {
    /* the process may exit before reading its input */
  });
  const exit = new Promise<ExitStatus>((resolve) => {
    child.on('error', (e) => {
      child.stderr.emit('data', Buffer.from(String(e)));
    });
    child.on('close', (code, signal) => {
      void cleanup();
      // runsc exec returns the inner exit code, or 128+n when the inner process died of signal n.
      if (code !== null && code > 128 && code < 160) resolve({ code: null, signal: signalName(code - 128) });
      else resolve({ code, signal });
    });
  });
  return {
    stdout: child.stdout,
    stderr: child.stderr,
    stdin: child.stdin,
    resize: () => {
      /* no terminal */
    },
    kill: (signal: NodeJS.Signals = 'SIGTERM') => {
      void signalInside(ctx, pidFile, signal);
    },
    exit,
  };
}

function ptyExec(
  ctx: ExecContext,
  args: string[],
  size: { cols: number; rows: number },
  pidFile: string,
  cleanup: () => Promise<void>,
): ExecHandle {
  const term = pty.spawn(ctx.binary, args, { cols: size.cols, rows: size.rows, name: 'xterm-256color', env: { TERM: 'xterm-256color' } });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  term.onData((d) => stdout.write(d));
  stdin.on('data', (d: Buffer) => term.write(d.toString('utf8')));
  const exit = new Promise<ExitStatus>((resolve) => {
    term.onExit(({ exitCode, signal }) => {
      stdout.end();
      stderr.end();
      void cleanup();
      if (exitCode > 128 && exitCode < 160) resolve({ code: null, signal: signalName(exitCode - 128) });
      else resolve({ code: signal ? null : exitCode, signal: signal ? signalName(signal) : null });
    });
  });
  return {
    stdout,
    stderr,
    stdin,
    resize: (cols, rows) => term.resize(cols, rows),
    kill: (signal: NodeJS.Signals = 'SIGTERM') => {
      void signalInside(ctx, pidFile, signal);
    },
    exit,
  };
}

const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  6: 'SIGABRT',
  9: 'SIGKILL',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
  24: 'SIGXCPU',
  25: 'SIGXFSZ',
};

function signalName(n: number): string {
  return SIGNALS[n] ?? `SIG${n}`;
}
