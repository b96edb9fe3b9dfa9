/**
 * A cross-process exclusive lock on a file, held by a child `flock` process. The kernel drops an
 * flock when its holder dies, so a crashed process never leaves a stale lock: the child's stdin is
 * our pipe, and when we exit (cleanly or not) `cat` sees EOF and the lock goes with it.
 */
import { spawn } from 'node:child_process';
import { CubbyError } from '../../errors/index.js';

export interface LockOptions {
  /** Give up after this long (default 30 minutes). */
  timeoutMs?: number;
  /** Called once if the lock is not granted at once (another process holds it). */
  onWait?: () => void;
}

export async function withFileLock<T>(file: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const timeoutS = Math.max(1, Math.ceil((opts.timeoutMs ?? 30 * 60_000) / 1000));
  const child = spawn('flock', ['-x', '-w', String(timeoutS), file, 'sh', '-c', 'echo locked; exec cat'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.stdin.on('error', () => {
    /* the holder may be gone already */
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const waitTimer = setTimeout(() => opts.onWait?.(), 200);
  try {
    const granted = await new Promise<boolean>((resolve, reject) => {
      child.on('error', reject);
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        if (d.includes('locked')) resolve(true);
      });
      void exited.then(() => resolve(false));
    });
    if (!granted) {
      throw new CubbyError('CUBBY_TIMEOUT', `could not lock ${file}: ${stderr.trim() || 'timed out'}`);
    }
  } finally {
    clearTimeout(waitTimer);
  }
  try {
    return await fn();
  } finally {
    child.stdin.end();
    await exited;
  }
}
