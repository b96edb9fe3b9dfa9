/**
 * Hand-made API requests signed with Signature Version 4 the way the official client signs
 * (service `lambda`, host, date and body hash signed), so tests can send bodies, paths and
 * queries the client would never produce, and still get past authentication.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

export interface SignedKey { accessKeyId: string; secretAccessKey: string }
export interface SignedAnswer { status: number; headers: http.IncomingHttpHeaders; text: string; json: Record<string, unknown> | undefined }

export interface SignedRequest {
  method: string;
  /** Path and query exactly as they go on the wire (percent-encoded). */
  path: string;
  body?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
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

export async function signedRequest(apiUrl: string, key: SignedKey, req: SignedRequest, timeoutMs = 15_000): Promise<SignedAnswer> {
  const url = new URL(apiUrl);
  const port = Number(url.port);
  const [rawPath = '/', search = ''] = req.path.split(/\?(.*)/s);
  // A fresh signed nonce: two equal random requests in one second must not look like a replay.
  const headers: Record<string, string> = { host: `${url.hostname}:${port}`, 'x-test-nonce': randomUUID(), ...(req.headers ?? {}) };
  if (req.body !== undefined) {
    headers['content-type'] = req.contentType ?? 'application/json';
    headers['content-length'] = String(Buffer.byteLength(req.body));
  }
  const signer = new SignatureV4({ credentials: key, region: 'local', service: 'lambda', sha256: Sha256 });
  const signed = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: url.hostname, port, path: rawPath, query: queryOf(search), headers, body: req.body },
    { signingDate: new Date() },
  );
  const wireHeaders = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k, String(v)]));
  return new Promise((resolve, reject) => {
    const r = http.request({ host: url.hostname, port, method: req.method, path: req.path, headers: wireHeaders, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> | undefined;
        try { json = text ? JSON.parse(text) as Record<string, unknown> : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    r.setTimeout(timeoutMs, () => r.destroy(new Error(`${req.method} ${req.path} got no answer within ${timeoutMs} ms`)));
    r.on('error', reject);
    r.end(req.body);
  });
}
