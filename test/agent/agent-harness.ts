/**
 * Drives a real cubby-agent binary started on the host as a child process: a free loopback
 * port, a temp working dir, and raw HTTP / Connect-JSON calls (the wire the E2B SDK speaks).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const AGENT_BIN = path.join(repo, 'dist', 'agent', 'cubby-agent');

/** The built agent binary; built here when missing (the `cubby` launcher normally does it). */
export function agentBinary(): string {
  if (!existsSync(AGENT_BIN)) {
    const r = spawnSync('bash', [path.join(repo, 'scripts', 'build-agent.sh')], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('building the agent failed');
  }
  return AGENT_BIN;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export function request(
  port: number,
  method: string,
  pathAndQuery: string,
  body?: Buffer | string,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: pathAndQuery, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${pathAndQuery}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A Connect unary call with the JSON codec. */
export async function unary(
  port: number,
  method: string,
  msg: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Json }> {
  const r = await request(port, 'POST', `/${method}`, JSON.stringify(msg), {
    'content-type': 'application/json',
    'connect-protocol-version': '1',
    ...headers,
  });
  return { status: r.status, json: JSON.parse(r.body.toString() || '{}') as Json };
}

export function envelope(flags: number, msg: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(msg));
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** The client side of one Connect server stream: messages as they arrive, then the end. */
export class ConnectStream {
  status = 0;
  contentType = '';
  readonly messages: Json[] = [];
  endError: Json | undefined;
  ended = false;
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private req: http.ClientRequest | undefined;
  private failure: Error | undefined;

  static open(port: number, method: string, msg: unknown, headers: Record<string, string> = {}): Promise<ConnectStream> {
    const s = new ConnectStream();
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `/${method}`,
          agent: false,
          headers: { 'content-type': 'application/connect+json', 'connect-protocol-version': '1', ...headers },
        },
        (res) => {
          s.status = res.statusCode ?? 0;
          s.contentType = String(res.headers['content-type'] ?? '');
          res.on('data', (c: Buffer) => s.feed(c));
          res.on('end', () => s.finish());
          res.on('error', (e) => s.finish(e));
          resolve(s);
        },
      );
      s.req = req;
      req.on('error', (e) => {
        s.finish(e);
        reject(e);
      });
      req.end(envelope(0, msg));
    });
  }

  private feed(c: Buffer): void {
    this.buf = Buffer.concat([this.buf, c]);
    while (this.buf.length >= 5) {
      const n = this.buf.readUInt32BE(1);
      if (this.buf.length < 5 + n) break;
      const flags = this.buf[0] ?? 0;
      const msg = JSON.parse(this.buf.subarray(5, 5 + n).toString()) as Json;
      this.buf = this.buf.subarray(5 + n);
      if (flags & 2) {
        this.endError = msg.error as Json | undefined;
        this.ended = true;
      } else this.messages.push(msg);
    }
    this.wake?.();
  }

  private finish(e?: Error): void {
    if (e && !this.ended) this.failure = e;
    this.ended = true;
    this.wake?.();
  }

  /** Waits until `pred` holds over the messages so far (or the stream ends, or time runs out). */
  async until(pred: (msgs: Json[]) => boolean, timeoutMs = 15_000): Promise<Json[]> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.messages)) {
      if (this.ended)
        throw new Error(
          `stream ended first: ${JSON.stringify(this.endError ?? this.failure?.message ?? null)}; got ${JSON.stringify(this.messages)}`,
        );
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    return this.messages;
  }

  async waitEnd(timeoutMs = 15_000): Promise<Json | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`stream did not end; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    if (this.failure) throw this.failure;
    return this.endError;
  }

  /** Drops the connection, as a client that goes away does. */
  close(): void {
    this.req?.destroy();
  }
}

/** Concatenated output of process events of one kind (stdout, stderr or pty). */
export function output(msgs: Json[], kind: 'stdout' | 'stderr' | 'pty'): string {
  return msgs
    .map((m) => (m.event?.data?.[kind] as string | undefined) ?? '')
    .map((b) => Buffer.from(b, 'base64').toString())
    .join('');
}

export const endOf = (msgs: Json[]): Json | undefined => msgs.find((m) => m.event?.end)?.event.end as Json | undefined;

export interface RunningAgent {
  port: number;
  dir: string;
  proc: ChildProcess;
  log: () => string;
  stop(): Promise<void>;
}

export async function startAgent(extraArgs: string[] = []): Promise<RunningAgent> {
  const bin = agentBinary();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-agent-test-'));
  const port = await freePort();
  const user = os.userInfo().username;
  const proc = spawn(bin, ['--host', '127.0.0.1', '--port', String(port), '--default-user', user, ...extraArgs], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await request(port, 'GET', '/health').then(
      (r) => r.status === 204,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`agent did not come up: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    dir,
    proc,
    log: () => log,
    async stop() {
      if (proc.exitCode === null) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await gone;
      }
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
