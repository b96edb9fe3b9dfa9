/** The HTTP adapter of the hooks port. */
import http from 'node:http';
import net from 'node:net';
import type { HookCall, HookResult, HooksPort } from '../core/ports/hooks.js';
import { CubbyError } from '../errors/index.js';

const HOOK_PATH = '/aws/lambda-microvms/runtime/v1/';
const POLLED = new Set(['ready', 'validate']);

function post(address: string, port: number, path: string, body: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // A deadline for the whole exchange: req.setTimeout would only start once connected, leaving
    // a connect to an unresponsive sandbox to the kernel's SYN timeout (about two minutes).
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    const req = http.request(
      {
        host: address,
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= 64 * 1024) chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function refused(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH';
}

export class HttpHooks implements HooksPort {
  async call(c: HookCall): Promise<HookResult> {
    const started = Date.now();
    const deadline = started + c.timeoutMs;
    const body = c.body === undefined ? '{}' : JSON.stringify(c.body);
    let last = 'no answer';
    let delay = 10;
    while (Date.now() < deadline) {
      try {
        const r = await post(c.address, c.port, HOOK_PATH + c.hook, body, Math.max(1, deadline - Date.now()));
        if (r.status === 200) return { status: 200, body: r.body, elapsedMs: Date.now() - started };
        last = `answered ${r.status}${r.body ? `: ${r.body.slice(0, 300)}` : ''}`;
        if (!(POLLED.has(c.hook) && r.status === 503)) break;
      } catch (e) {
        last = (e as Error).message;
        if (!refused(e)) break;
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 200);
    }
    throw new CubbyError(
      'HOOK_FAILED',
      `${c.hook} hook on port ${c.port} ${last === 'no answer' ? `did not answer within ${c.timeoutMs / 1000} s` : last}`,
      {
        details: { hook: c.hook, elapsedMs: Date.now() - started },
      },
    );
  }

  async waitForPort(address: string, port: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let delay = 10;
    while (Date.now() < deadline) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: address, port });
        s.setTimeout(Math.max(1, Math.min(1000, deadline - Date.now())), () => {
          s.destroy();
          resolve(false);
        });
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (ok) return;
      await sleep(delay);
      delay = Math.min(delay * 2, 200);
    }
    throw new CubbyError('APP_NOT_READY', `nothing accepted connections on port ${port} within ${timeoutMs / 1000} s`);
  }
}
