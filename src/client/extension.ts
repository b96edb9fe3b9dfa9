/**
 * Calls Cubby's own API extensions (/cubby/v1/*: build logs, microVM logs, artifact uploads)
 * with the same Signature Version 4 credentials, region and endpoint as an official client.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { LambdaMicrovmsClient } from '@aws-sdk/client-lambda-microvms';
import { apiClient } from './api-client.js';

export interface ExtensionAnswer {
  status: number;
  body: string;
}

/** A failed extension call, named like the official client's errors (`cubby: <name>: <message>`). */
export class ExtensionError extends Error {
  readonly status: number;
  readonly $metadata: { httpStatusCode: number };
  constructor(status: number, body: string) {
    let name = `HTTP ${status}`;
    let message = body.trim();
    try {
      const parsed = JSON.parse(body) as { __type?: string; message?: string };
      if (parsed.__type) name = parsed.__type;
      if (parsed.message) message = parsed.message;
    } catch {
      /* not JSON: keep the text */
    }
    super(message);
    this.name = name;
    this.status = status;
    this.$metadata = { httpStatusCode: status };
  }
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** One signed request; `upload` streams a file as the body (its hash is signed, not its bytes held). */
export async function signedCall(
  client: LambdaMicrovmsClient,
  method: string,
  pathAndQuery: string,
  upload?: { file: string; contentType: string } | { bytes: Buffer; contentType: string },
): Promise<ExtensionAnswer> {
  const credentials = await client.config.credentials();
  const region = await client.config.region();
  const endpoint = await client.config.endpoint?.();
  if (!endpoint) throw new Error('no API endpoint configured');
  const base = `${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}`;
  const url = new URL(pathAndQuery, base);
  const query: Record<string, string> = {};
  url.searchParams.forEach((v, k) => (query[k] = v));
  // A fresh id per call: two identical calls in the same second must not share a signature (replay).
  const headers: Record<string, string> = { host: url.host, 'amz-sdk-invocation-id': randomUUID() };
  if (upload) {
    headers['content-type'] = upload.contentType;
    if ('bytes' in upload) {
      headers['content-length'] = String(upload.bytes.length);
      headers['x-amz-content-sha256'] = createHash('sha256').update(upload.bytes).digest('hex');
    } else {
      headers['content-length'] = String((await fs.stat(upload.file)).size);
      headers['x-amz-content-sha256'] = await sha256OfFile(upload.file);
    }
  }
  const signer = new SignatureV4({ credentials, region, service: 'lambda', sha256: Sha256 });
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query,
    headers,
  });
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method, headers: signed.headers as Record<string, string>, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (upload && 'bytes' in upload) {
      req.end(upload.bytes);
    } else if (upload) {
      const body = createReadStream(upload.file);
      body.on('error', (e) => req.destroy(e));
      body.pipe(req);
    } else {
      req.end();
    }
  });
}

/** The answer's text; an error status throws an ExtensionError. */
export async function cubbyExtension(method: string, pathAndQuery: string, client: LambdaMicrovmsClient = apiClient()): Promise<string> {
  const r = await signedCall(client, method, pathAndQuery);
  if (r.status >= 300) throw new ExtensionError(r.status, r.body);
  return r.body;
}

/** Uploads a zip to the daemon; returns its `cubby-artifact://<id>` URI for codeArtifact.uri. */
export async function uploadArtifact(zipFile: string, client: LambdaMicrovmsClient = apiClient()): Promise<string> {
  const r = await signedCall(client, 'PUT', '/cubby/v1/artifacts', { file: zipFile, contentType: 'application/zip' });
  if (r.status >= 300) throw new ExtensionError(r.status, r.body);
  const { uri } = JSON.parse(r.body) as { uri?: unknown };
  if (typeof uri !== 'string') throw new Error('the daemon answered the upload without a uri');
  return uri;
}
