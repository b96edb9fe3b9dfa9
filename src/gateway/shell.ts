/**
 * The /shell WebSocket: an interactive terminal in the microVM, bridged to a ShellProcess the
 * core starts (targets.openShell). Protocol:
 *
 *   Open:    GET /shell?cols=<n>&rows=<n> (default 80x24) on the microVM's endpoint, upgrading to
 *            WebSocket with subprotocol `lambda-microvms.authentication.<shell token>`.
 *   Client:  binary frame = bytes typed into the terminal
 *            text frame   = JSON control:
 *                             {"type":"resize","cols":120,"rows":40}
 *                             {"type":"signal","signal":"SIGINT"}  (to the shell's process)
 *   Server:  binary frame = terminal output
 *            text frame   = {"type":"exit","code":<n>,"signal":<name|null>} when the shell ends,
 *                           sent after the last output and right before a 1000 close;
 *                           {"type":"error","message":"..."} for a control frame it cannot use.
 *   Closing the WebSocket hangs the shell up (SIGHUP). Pings every 30 s drop dead clients.
 */
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { WebSocket, type RawData } from 'ws';
import type { ShellProcess } from './targets.js';

export const SHELL_PATH = '/shell';

const SIGNALS = new Set(['SIGINT', 'SIGTERM', 'SIGKILL', 'SIGHUP', 'SIGQUIT', 'SIGTSTP', 'SIGCONT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH']);
// Output is paused while this much is queued for a slow client, resumed below the low mark.
const HIGH_WATER = 1 << 20;
const LOW_WATER = 1 << 18;
const PING_MS = 30_000;

/** Initial terminal size from the query string. */
export function shellSize(url: string | undefined): { cols: number; rows: number } {
  const q = new URL(url ?? '/', 'http://x').searchParams;
  return { cols: dimension(q.get('cols'), 80), rows: dimension(q.get('rows'), 24) };
}

/** Bridges one WebSocket and one shell process; resolves when both are done. */
export function runShell(ws: WebSocket, proc: ShellProcess): Promise<void> {
  let exited = false;
  const stdout = proc.stdout;
  stdout.on('error', () => {});
  proc.stdin.on('error', () => {});

  stdout.on('data', (chunk: Buffer) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(chunk, { binary: true }, () => {
      if (stdout.isPaused() && ws.bufferedAmount < LOW_WATER) stdout.resume();
    });
    if (ws.bufferedAmount > HIGH_WATER) stdout.pause();
  });

  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      if (!proc.stdin.write(toBuffer(data))) {
        ws.pause();
        proc.stdin.once('drain', () => ws.resume());
      }
      return;
    }
    const problem = control(proc, toBuffer(data).toString('utf8'));
    if (problem) ws.send(JSON.stringify({ type: 'error', message: problem }));
  });

  let alive = true;
  ws.on('pong', () => {
    alive = true;
  });
  const pinger = setInterval(() => {
    if (!alive) {
      ws.terminate();
      return;
    }
    alive = false;
    ws.ping();
  }, PING_MS);
  pinger.unref();

  const wsClosed = new Promise<void>((resolve) => {
    ws.on('error', () => {});
    ws.once('close', () => {
      clearInterval(pinger);
      if (!exited) {
        proc.kill('SIGHUP');
        proc.stdin.end();
      }
      resolve();
    });
  });

  const procDone = proc.exit
    .then(
      (status) => status,
      () => ({ code: null, signal: null }),
    )
    .then(async (status) => {
      exited = true;
      await ended(stdout, 1000);
      if (ws.readyState !== WebSocket.OPEN) return;
      const code = status.code ?? (status.signal ? 128 + (constants.signals[status.signal as NodeJS.Signals] ?? 0) : -1);
      ws.send(JSON.stringify({ type: 'exit', code, signal: status.signal }));
      ws.close(1000, 'exit');
    });

  return Promise.all([wsClosed, procDone]).then(() => undefined);
}

/** Applies one control frame; returns a message when it cannot. */
function control(proc: ShellProcess, text: string): string | undefined {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return 'control frames must be JSON';
  }
  const m = msg as { type?: unknown; cols?: unknown; rows?: unknown; signal?: unknown };
  if (m.type === 'resize') {
    if (!isDimension(m.cols) || !isDimension(m.rows)) return 'resize needs integer cols and rows from 1 to 1000';
    proc.resize(m.cols, m.rows);
    return undefined;
  }
  if (m.type === 'signal') {
    if (typeof m.signal !== 'string' || !SIGNALS.has(m.signal)) return `signal must be one of ${[...SIGNALS].join(' ')}`;
    proc.kill(m.signal as NodeJS.Signals);
    return undefined;
  }
  return 'unknown control frame type';
}

function isDimension(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 1000;
}

function dimension(raw: string | null, fallback: number): number {
  const n = raw === null ? NaN : Number(raw);
  return isDimension(n) ? n : fallback;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Waits for the output stream to end (the last bytes of a finished shell), at most `ms`. */
function ended(stream: Readable, ms: number): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      stream.off('end', done);
      stream.off('close', done);
      resolve();
    }
    stream.once('end', done);
    stream.once('close', done);
  });
}
