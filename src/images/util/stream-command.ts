/** Runs a long host command (debootstrap, buildah) streaming its output line by line. */
import { spawn } from 'node:child_process';

export interface StreamResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** stdout and stderr interleaved (bounded). */
  output: string;
  /** stdout alone (bounded), for commands whose answer is their stdout. */
  stdout: string;
}

export interface StreamOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Each line of stdout and stderr, interleaved as produced. */
  onLine?: (line: string) => void;
  /** Bound on the output kept in memory: the head is dropped first (default 4 MiB). */
  maxOutputBytes?: number;
}

/**
 * Never throws for a non-zero exit. The child runs in its own process group so a timeout kills
 * everything it started (not only the direct child).
 */
export function streamCommand(cmd: string, args: readonly string[], opts: StreamOptions = {}): Promise<StreamResult> {
  const max = opts.maxOutputBytes ?? 4 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let stdout = '';
    let timedOut = false;
    const partial = { stdout: '', stderr: '' };
    const feed = (which: 'stdout' | 'stderr', chunk: string, flush = false): void => {
      const text = partial[which] + chunk;
      const lines = text.split('\n');
      partial[which] = flush ? '' : (lines.pop() ?? '');
      for (const l of lines) {
        if (flush && l === '') continue;
        output += l + '\n';
        if (which === 'stdout') stdout += l + '\n';
        opts.onLine?.(l);
      }
      if (output.length > max) output = output.slice(output.length - max);
      if (stdout.length > max) stdout = stdout.slice(stdout.length - max);
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => feed('stdout', d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => feed('stderr', d));
    const killGroup = (): void => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          killGroup();
        }, opts.timeoutMs)
      : undefined;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      feed('stdout', '', true);
      feed('stderr', '', true);
      if (timedOut) output += `[timed out after ${opts.timeoutMs} ms]\n`;
      resolve({ code, signal, timedOut, output, stdout });
    });
  });
}
