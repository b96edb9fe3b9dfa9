/**
 * Sends hand-made requests, signed with Signature Version 4 like the official client signs
 * (or not signed, or replayed as captured), over a plain node http socket: for the inputs the
 * client cannot produce (unknown members, wrong types, oversized bodies, replays).
 */
import { request } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { TestKey } from './harness.js';

export interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; text: string; json: Record<string, unknown> | undefined }

export interface RawRequest {
  method: string;
  /** Path with its query string, percent-encoded as it goes on the wire. */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export function send(port: number, req: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, method: req.method, path: req.path, headers: req.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> | undefined;
        try { json = text ? JSON.parse(text) as Record<string, unknown> : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    r.setTimeout(10_000, () => r.destroy(new Error('raw request timed out')));
    r.on('error', reject);
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

function splitQuery(path: string): { path: string; query: Record<string, string | string[]> } {
  const url = new URL(path, 'http://x');
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return { path: path.split('?')[0] ?? path, query };
}

/** Signs like the official client (service `lambda`, body hash header, host and date signed). */
export async function signed(
  port: number, key: Pick<TestKey, 'accessKeyId' | 'secretAccessKey'>,
  req: { method: string; path: string; body?: string | Buffer; contentType?: string; date?: Date; headers?: Record<string, string> },
): Promise<RawRequest> {
  const { path, query } = splitQuery(req.path);
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...(req.headers ?? {}) };
  if (req.body !== undefined) {
    headers['content-type'] = req.contentType ?? 'application/json';
    headers['content-length'] = String(Buffer.byteLength(req.body));
  }
  const signer = new SignatureV4({ credentials: key, region: 'local', service: 'lambda', sha256: Sha256 });
  const out = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: '127.0.0.1', port, path, query, headers, body: req.body },
    { signingDate: req.date ?? new Date() },
  );
  const signedHeaders = Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k, String(v)]));
  return { method: req.method, path: req.path, headers: signedHeaders, ...(req.body !== undefined ? { body: req.body } : {}) };
}
