/**
 * Hand-made API requests signed with Signature Version 4 the way the official client signs
 * (service `lambda`, host, date and body hash signed), so tests can send bodies, paths and
 * queries the client would never produce (unknown members, wrong types, oversized bodies,
 * replays), and still get past authentication. Sent over a plain node http socket.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

export interface SignedKey {
  accessKeyId: string;
  secretAccessKey: string;
}
export interface SignedAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown> | undefined;
}

/** A request as it goes on the wire. */
export interface WireRequest {
  method: string;
  /** Path with its query string, percent-encoded as it goes on the wire. */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface SignedRequest {
  method: string;
  /** Path and query exactly as they go on the wire (percent-encoded). */
  path: string;
  body?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  /** Signing time; now when absent (a stale one tests the clock-skew check). */
  date?: Date;
}

/** The query as the signer wants it: decoded, repeated keys as arrays. */
function queryOf(search: string): Record<string, string | string[]> {
  const q: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(search)) {
    const prev = q[k];
    q[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return q;
}

/** Signs a request for `hostname:port` like the official client (body hash header, host and date signed). */
export async function signWire(hostname: string, port: number, key: SignedKey, req: SignedRequest): Promise<WireRequest> {
  const [rawPath = '/', search = ''] = req.path.split(/\?(.*)/s);
  const headers: Record<string, string> = { host: `${hostname}:${port}`, ...(req.headers ?? {}) };
  if (req.body !== undefined) {
    headers['content-type'] = req.contentType ?? 'application/json';
    headers['content-length'] = String(Buffer.byteLength(req.body));
  }
  const signer = new SignatureV4({ credentials: key, region: 'local', service: 'lambda', sha256: Sha256 });
  const out = await signer.sign(
    { method: req.method, protocol: 'http:', hostname, port, path: rawPath, query: queryOf(search), headers, body: req.body },
    { signingDate: req.date ?? new Date() },
  );
  const wireHeaders = Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k, String(v)]));
  return { method: req.method, path: req.path, headers: wireHeaders, ...(req.body !== undefined ? { body: req.body } : {}) };
}

/** Sends a wire request as it is (signed, unsigned or replayed) and reads the whole answer. */
export function sendWire(hostname: string, port: number, req: WireRequest, timeoutMs = 15_000): Promise<SignedAnswer> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: hostname, port, method: req.method, path: req.path, headers: req.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> | undefined;
        try {
          json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    r.setTimeout(timeoutMs, () => r.destroy(new Error(`${req.method} ${req.path} got no answer within ${timeoutMs} ms`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

/** Signs and sends; each request carries a fresh signed nonce so two equal ones never look like a replay. */
export async function signedRequest(apiUrl: string, key: SignedKey, req: SignedRequest, timeoutMs = 15_000): Promise<SignedAnswer> {
  const url = new URL(apiUrl);
  const port = Number(url.port);
  const wire = await signWire(url.hostname, port, key, { ...req, headers: { 'x-test-nonce': randomUUID(), ...(req.headers ?? {}) } });
  return sendWire(url.hostname, port, wire, timeoutMs);
}
