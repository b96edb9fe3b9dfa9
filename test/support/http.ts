import http from 'node:http';
import type { ClientHttp2Session, OutgoingHttpHeaders } from 'node:http2';

export interface HttpAnswer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** One HTTP GET with a timeout; rejects on connection errors. */
export function httpGet(url: string, opts: { timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 5000, () => req.destroy(new Error(`timeout after ${opts.timeoutMs ?? 5000} ms: ${url}`)));
    req.on('error', reject);
  });
}

/** Polls until a GET answers 200 (the app is up) or the deadline passes. */
export async function waitForHttp(url: string, timeoutMs = 20_000): Promise<HttpAnswer> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const r = await httpGet(url, { timeoutMs: 2000 });
      if (r.status === 200) return r;
      last = new Error(`status ${r.status}`);
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms: ${String(last)}`);
}

/** One request on an HTTP/2 session: the answer's status and body as text. */
export function h2Request(session: ClientHttp2Session, headers: OutgoingHttpHeaders): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = session.request(headers);
    let status = 0;
    let body = '';
    s.on('response', (h) => (status = Number(h[':status'])));
    s.on('data', (c: Buffer) => (body += c.toString()));
    s.on('end', () => resolve({ status, body }));
    s.on('error', reject);
  });
}
