/** Runs the load generator (load-worker.ts) in a child process and returns its result. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from './load-worker.js';

const WORKER = fileURLToPath(new URL('./load-worker.js', import.meta.url));

export function runLoad(spec: LoadSpec, timeoutMs = 120_000): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`load worker exited ${code}: ${err.slice(-1000)}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as LoadResult);
      } catch {
        reject(new Error(`load worker printed no result: ${out.slice(-500)} ${err.slice(-500)}`));
      }
    });
  });
}
