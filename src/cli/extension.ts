/**
 * Calls Cubby's own API extensions (build logs, microVM logs, usage) with the same Signature
 * Version 4 credentials the official client uses.
 */
import http from 'node:http';
import https from 'node:https';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { apiClient } from './client.js';

export async function cubbyExtension(method: string, pathAndQuery: string): Promise<string> {
  const client = apiClient();
  const credentials = await client.config.credentials();
  const region = await client.config.region();
  const endpoint = await client.config.endpoint?.();
  if (!endpoint) throw new Error('no API endpoint configured');
  const url = new URL(pathAndQuery, `${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}`);
  const signer = new SignatureV4({ credentials, region, service: 'lambda', sha256: Sha256 });
  const query: Record<string, string> = {};
  url.searchParams.forEach((v, k) => (query[k] = v));
  const signed = await signer.sign({
    method, protocol: url.protocol, hostname: url.hostname, port: url.port ? Number(url.port) : undefined,
    path: url.pathname, query, headers: { host: url.host },
  });
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method, headers: signed.headers as Record<string, string> }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 500) >= 300) reject(new Error(`${res.statusCode}: ${body}`));
        else resolve(body);
      });
    });
    req.on('error', reject);
    req.end();
  });
}
