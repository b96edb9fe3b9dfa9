/**
 * A stand-in app: a real node HTTP + WebSocket server on 127.0.0.1. The gateway only ever sees
 * an address and a port, so a local server exercises exactly the code a sandbox would.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';

export interface Upstream {
  port: number;
  server: Server;
  /** Every request the app received (method, url, headers). */
  hits: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }>;
  /** TCP connections the app accepted. */
  connections: number;
  /** WebSocket handshakes the app accepted: offered subprotocol header and all headers. */
  wsHandshakes: Array<{ protocol: string | undefined; headers: IncomingMessage['headers'] }>;
  /** sha256 of the last /download body the app sent. */
  lastDownloadSha: string;
  close(): Promise<void>;
}

/** `at` puts the app on another loopback address or a fixed port (E2B's agent port is 49983). */
export async function startUpstream(at: { host?: string; port?: number } = {}): Promise<Upstream> {
  const sockets = new Set<Socket>();
  const up: Upstream = {
    port: 0,
    server: undefined as unknown as Server,
    hits: [],
    connections: 0,
    wsHandshakes: [],
    lastDownloadSha: '',
    close: async () => {},
  };
  const server = createServer((req, res) => {
    up.hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const url = new URL(req.url ?? '/', 'http://app');
    const num = (k: string, d: number) => Number(url.searchParams.get(k) ?? d);
    switch (url.pathname) {
      case '/echo': {
        const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, port: up.port });
        res.writeHead(200, { 'content-type': 'application/json', 'x-app': 'yes' });
        res.end(body);
        return;
      }
      case '/sse':
      case '/chunked': {
        // Events spaced in time: the client must see the first long before the last is sent.
        const n = num('n', 3),
          gap = num('gapMs', 100);
        res.writeHead(200, { 'content-type': url.pathname === '/sse' ? 'text/event-stream' : 'text/plain' });
        let i = 0;
        const tick = () => {
          if (i === n) {
            res.end();
            return;
          }
          res.write(url.pathname === '/sse' ? `data: event ${i}\n\n` : `chunk ${i}\n`);
          i += 1;
          setTimeout(tick, gap);
        };
        tick();
        return;
      }
      case '/upload': {
        const hash = createHash('sha256');
        let bytes = 0;
        req.on('data', (c: Buffer) => {
          hash.update(c);
          bytes += c.length;
        });
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') }));
        });
        return;
      }
      case '/download': {
        // Streamed with backpressure; the hash of what was sent is kept for the test to compare.
        let left = num('mb', 1) * 1024 * 1024;
        const hash = createHash('sha256');
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': left });
        const pump = () => {
          while (left > 0) {
            const chunk = randomBytes(Math.min(left, 256 * 1024));
            left -= chunk.length;
            hash.update(chunk);
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
          up.lastDownloadSha = hash.digest('hex');
          res.end();
        };
        pump();
        return;
      }
      default:
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
    }
  });
  server.on('connection', (s: Socket) => {
    up.connections += 1;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  // Echo server; "close:<code>" asks it to close with that code, proving close codes pass.
  const wss = new WebSocketServer({
    server,
    handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
  });
  wss.on('connection', (ws, req) => {
    up.wsHandshakes.push({ protocol: req.headers['sec-websocket-protocol'], headers: req.headers });
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString();
      if (text.startsWith('close:')) {
        ws.close(Number(text.slice(6)), 'bye');
        return;
      }
      ws.send(data, { binary: isBinary });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port ?? 0, at.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  up.port = (server.address() as AddressInfo).port;
  up.server = server;
  up.close = async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return up;
}
