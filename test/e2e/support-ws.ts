/** WebSockets to a microVM endpoint through the gateway: the /shell terminal and an app echo. */
import WebSocket from 'ws';
import type { Daemon } from '../../src/daemon/daemon.js';

const EXIT_WAIT_MS = 60_000;

function connect(d: Daemon, id: string, urlPath: string, protocols: string[]): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${d.gatewayPort}${urlPath}`, protocols, {
    headers: { host: `${id}.${d.config.domain}:${d.gatewayPort}` },
    handshakeTimeout: 15_000,
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

export interface ShellSession {
  /** Sends keystrokes (a binary frame). */
  type(text: string): void;
  /** Resolves once the terminal output so far matches (rejects after `timeoutMs`). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** The {"type":"exit",...} frame. */
  exit: Promise<Record<string, unknown>>;
  output(): string;
  close(): void;
}

export async function openShell(d: Daemon, id: string, token: string): Promise<ShellSession> {
  const ws = await connect(d, id, '/shell?cols=100&rows=30', [`lambda-microvms.authentication.${token}`]);
  let out = '';
  let timer: NodeJS.Timeout | undefined;
  const exit = new Promise<Record<string, unknown>>((resolve, reject) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        out += data.toString('utf8');
        return;
      }
      const msg = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
      if (msg.type === 'exit') resolve(msg);
    });
    ws.once('close', () => reject(new Error(`the shell closed without an exit frame; output: ${JSON.stringify(out)}`)));
    timer = setTimeout(() => reject(new Error(`no exit frame within ${EXIT_WAIT_MS} ms; output: ${JSON.stringify(out)}`)), EXIT_WAIT_MS);
  }).finally(() => clearTimeout(timer));
  // Awaited by the caller when it expects the exit; never an unhandled rejection otherwise.
  exit.catch(() => undefined);
  return {
    type: (text) => ws.send(Buffer.from(text, 'utf8'), { binary: true }),
    async waitFor(re, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (Date.now() > deadline) throw new Error(`shell output never matched ${re}: ${JSON.stringify(out)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return out;
    },
    exit,
    output: () => out,
    close: () => ws.close(),
  };
}

/** Sends each message to the app's /ws echo (port 8080) and returns what came back, in order. */
export async function wsEcho(d: Daemon, id: string, token: string, messages: string[]): Promise<string[]> {
  const ws = await connect(d, id, '/ws', [`lambda-microvms.authentication.${token}`, 'lambda-microvms.port.8080']);
  try {
    const echoes: string[] = [];
    ws.on('message', (data) => echoes.push(String(data)));
    for (const m of messages) ws.send(m);
    const deadline = Date.now() + 10_000;
    while (echoes.length < messages.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return echoes;
  } finally {
    ws.close();
  }
}
