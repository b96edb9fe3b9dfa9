/**
 * A ShellProcess on a real local pseudo-terminal (node-pty), playing the core's openShell: the
 * gateway's shell bridge only sees the ShellProcess interface.
 */
import { spawn } from 'node-pty';
import { PassThrough, Writable } from 'node:stream';
import type { ShellProcess } from '../../../src/gateway/targets.js';

export function ptyShell(args: string[], size: { cols: number; rows: number }): ShellProcess & { pid: number } {
  const pty = spawn(args[0] as string, args.slice(1), {
    name: 'xterm',
    cols: size.cols,
    rows: size.rows,
    cwd: '/tmp',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm' },
  });
  const stdout = new PassThrough();
  pty.onData((d) => stdout.write(d));
  const stdin = new Writable({
    write(chunk: Buffer, _enc, cb) {
      pty.write(chunk.toString('utf8'));
      cb();
    },
  });
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    pty.onExit(({ exitCode, signal }) => {
      stdout.end();
      resolve(signal ? { code: null, signal: signalName(signal) } : { code: exitCode, signal: null });
    });
  });
  return {
    pid: pty.pid,
    stdout,
    stdin,
    resize: (cols, rows) => pty.resize(cols, rows),
    kill: (signal) => {
      try {
        process.kill(pty.pid, signal ?? 'SIGTERM');
      } catch {
        /* already gone */
      }
    },
    exit,
  };
}

function signalName(n: number): string {
  const names: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 9: 'SIGKILL', 15: 'SIGTERM' };
  return names[n] ?? `SIG${n}`;
}
