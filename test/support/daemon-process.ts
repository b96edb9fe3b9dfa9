/**
 * The real daemon in a child process (`cubby serve`), so a test can SIGKILL it at any moment and
 * start it again on the same data directory and ports, as a crash and a restart would. Tenants
 * are made with the operator CLI on the same data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LambdaMicrovmsClient } from '@aws-sdk/client-lambda-microvms';
import { runCommand } from '../../src/util/command.js';
import { ensureTestBaseImage } from './base-image.js';

const MAIN = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../src/cli/main.js');
const DOMAIN = 'microvm.localhost';

export interface ProcessTenant {
  client: LambdaMicrovmsClient;
  accountId: string;
  tenantId: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface DaemonProcess {
  readonly dataDir: string;
  readonly apiUrl: string;
  readonly apiPort: number;
  readonly gatewayPort: number;
  readonly domain: string;
  /** Pid of the running daemon (undefined while it is down). */
  readonly pid: number | undefined;
  /** Starts the daemon and waits until its API answers. */
  start(): Promise<void>;
  /** SIGKILL, as a crash: nothing of the daemon's shutdown runs. Resolves once it is dead. */
  kill(): Promise<void>;
  /** SIGTERM and wait (the daemon's own shutdown; microVMs keep running). */
  stop(): Promise<void>;
  /** kill() then start(). */
  crashRestart(): Promise<void>;
  tenant(name: string): Promise<ProcessTenant>;
  /** One GET through the endpoint gateway (Host routing), with an X-aws-proxy-auth token. */
  endpoint(id: string, path: string, token?: string, timeoutMs?: number): Promise<{ status: number; body: string }>;
  /** The last lines the daemon wrote (for failure messages). */
  output(): string;
  /** Stops the daemon and removes the data directory (terminate microVMs first). */
  destroy(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export async function spawnDaemon(
  opts: {
    dataDir?: string;
    warmPool?: number;
    logLevel?: string;
    startTimeoutMs?: number;
    artifactRoots?: string;
    /** More `serve` flags. The frozen tier is off (--freeze-after-seconds 0) unless these name it. */
    extraArgs?: string[];
  } = {},
): Promise<DaemonProcess> {
  await ensureTestBaseImage('debian-12-python');
  const dataDir = opts.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-proc-')));
  const apiPort = await freePort();
  const gatewayPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let tail = '';
  // Per-request lines would drown the lifecycle ones in a failure message.
  const keep = (b: Buffer) => {
    const text = b
      .toString('utf8')
      .split('\n')
      .filter((l) => !/"msg":"(incoming request|request completed)"/.test(l))
      .join('\n');
    tail = (tail + text).slice(-20_000);
  };

  const dp: DaemonProcess = {
    dataDir,
    apiUrl,
    apiPort,
    gatewayPort,
    domain: DOMAIN,
    get pid() {
      return child?.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    async start() {
      if (dp.pid) throw new Error('the daemon is already running');
      const c = spawn(
        process.execPath,
        [
          MAIN,
          'serve',
          '--data-dir',
          dataDir,
          '--api',
          `127.0.0.1:${apiPort}`,
          '--gateway',
          `127.0.0.1:${gatewayPort}`,
          '--domain',
          DOMAIN,
          '--warm-pool',
          String(opts.warmPool ?? 0),
          '--log-level',
          opts.logLevel ?? 'info',
          // Test artifacts are zipped into temporary directories.
          '--artifact-roots',
          opts.artifactRoots ?? os.tmpdir(),
          ...(opts.extraArgs?.includes('--freeze-after-seconds') ? [] : ['--freeze-after-seconds', '0']),
          ...(opts.extraArgs ?? []),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child = c;
      c.stdout?.on('data', keep);
      c.stderr?.on('data', keep);
      exited = new Promise((resolve) => c.once('exit', () => resolve()));
      const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
      while (!(await answers(`${apiUrl}/metrics`))) {
        if (c.exitCode !== null || c.signalCode !== null)
          throw new Error(`the daemon exited (${c.exitCode ?? c.signalCode}) while starting:\n${tail.slice(-4000)}`);
        if (Date.now() > deadline)
          throw new Error(`the daemon did not answer within ${opts.startTimeoutMs ?? 60_000} ms:\n${tail.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill() {
      if (!dp.pid) return;
      child?.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (!dp.pid) return;
      child?.kill('SIGTERM');
      const t = setTimeout(() => child?.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(t);
    },
    async crashRestart() {
      await dp.kill();
      await dp.start();
    },
    async tenant(name: string) {
      const r = await runCommand(
        process.execPath,
        [MAIN, 'tenant', 'create', `${name}-${Math.random().toString(36).slice(2, 8)}`, '--json', '--data-dir', dataDir],
        { timeoutMs: 30_000 },
      );
      if (r.code !== 0) throw new Error(`tenant create failed: ${r.stderr}`);
      const t = JSON.parse(r.stdout) as { tenantId: string; accountId: string; accessKeyId: string; secretAccessKey: string };
      const client = new LambdaMicrovmsClient({
        endpoint: apiUrl,
        region: 'local',
        maxAttempts: 1,
        credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey },
      });
      return { client, ...t };
    },
    endpoint(id, p, token, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string> = { host: `${id}.${DOMAIN}:${gatewayPort}` };
        if (token) headers['x-aws-proxy-auth'] = token;
        const req = http.get({ host: '127.0.0.1', port: gatewayPort, path: p, headers, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`gateway GET ${p} timed out after ${timeoutMs} ms`)));
        req.on('error', reject);
      });
    },
    output: () => tail,
    async destroy() {
      await dp.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
  await dp.start();
  return dp;
}
