/**
 * Runs a bench worker (a script that reads a JSON spec from argv and prints a JSON result) in a
 * child process, so its client work never shares the event loop of the daemon under test.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from './load-worker.js';

export function runWorker<T>(worker: string, spec: unknown, timeoutMs: number): Promise<T> {
  const name = worker.replace(/^.*\//, '').replace(/\.js$/, '');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`${name} exited ${code}: ${err.slice(-1000)}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as T);
      } catch {
        reject(new Error(`${name} printed no result: ${out.slice(-500)} ${err.slice(-500)}`));
      }
    });
  });
}

const WORKER = fileURLToPath(new URL('./load-worker.js', import.meta.url));

/** Runs the load generator (load-worker.ts) and returns its result. */
export function runLoad(spec: LoadSpec, timeoutMs = 120_000): Promise<LoadResult> {
  return runWorker<LoadResult>(WORKER, spec, timeoutMs);
}
