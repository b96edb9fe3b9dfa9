/** Runs the real `cubby` CLI (dist/src/cli/main.js) as a separate process, plainly or in a pseudo-terminal. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { spawn as spawnPty } from 'node-pty';

export const CLI = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../src/cli/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Credentials and endpoint as the CLI reads them (the standard AWS variables); no inherited
 * AWS_* variable, so nothing overrides them (nor hides the SDK's own stderr warnings).
 */
export function cliEnv(vars: { accessKeyId: string; secretAccessKey: string; endpoint: string }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return {
    ...env,
    AWS_ACCESS_KEY_ID: vars.accessKeyId,
    AWS_SECRET_ACCESS_KEY: vars.secretAccessKey,
    AWS_REGION: 'local',
    AWS_ENDPOINT_URL: vars.endpoint,
  };
}

export function cli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the CLI and parses its stdout as JSON; fails with its stderr when it exits non-zero. */
export async function cliJson<T = Record<string, unknown>>(args: string[], env: NodeJS.ProcessEnv): Promise<T> {
  const r = await cli([...args, '--json'], env);
  if (r.code !== 0) throw new Error(`cubby ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`cubby ${args.join(' ')} --json printed no JSON: ${r.stdout}`);
  }
}

export interface PtySession {
  type(text: string): void;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  exit: Promise<number>;
  output(): string;
  kill(): void;
}

/** The CLI in a pseudo-terminal, as a person at a terminal runs it (`cubby shell`). */
export function cliInPty(args: string[], env: NodeJS.ProcessEnv): PtySession {
  const p = spawnPty(process.execPath, [CLI, ...args], {
    name: 'xterm',
    cols: 100,
    rows: 30,
    cwd: process.cwd(),
    env: env as Record<string, string>,
  });
  let out = '';
  p.onData((d) => {
    out += d;
  });
  const exit = new Promise<number>((resolve) => p.onExit(({ exitCode }) => resolve(exitCode)));
  return {
    type: (text) => p.write(text),
    async waitFor(re, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (Date.now() > deadline) throw new Error(`terminal output never matched ${re}: ${JSON.stringify(out)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return out;
    },
    exit,
    output: () => out,
    kill: () => {
      try {
        p.kill();
      } catch {
        /* already gone */
      }
    },
  };
}
