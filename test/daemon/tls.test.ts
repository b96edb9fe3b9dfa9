/**
 * `cubby serve --tls self-signed` end to end: the real daemon makes its CA, and both listeners
 * (API and gateway) answer HTTPS that a client trusting only that CA verifies, over HTTP/2 too.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { test } from 'node:test';
import { startTestDaemon } from '../support/daemon.js';
import { h2Request } from '../support/http.js';

function get(url: string, ca: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the daemon with --tls self-signed serves the API and the gateway over HTTPS', { timeout: 600_000 }, async (t) => {
  const d = await startTestDaemon({ tls: 'self-signed' });
  t.after(() => d.destroy());
  assert.ok(d.tlsCaPath?.startsWith(d.dataDir), d.tlsCaPath);
  assert.match(d.apiUrl, /^https:/);
  assert.match(d.gatewayUrl, /^https:/);
  const ca = await fs.readFile(d.tlsCaPath as string);

  const metrics = await get(`${d.apiUrl}/metrics`, ca);
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, /cubby_/);
  await assert.rejects(get(`${d.apiUrl}/metrics`, Buffer.from('')), /certificate|self.signed|verify/i);

  // The gateway over HTTP/2: an unknown E2B sandbox gets E2B's 502 body.
  const session = h2connect(d.gatewayUrl, { ca });
  session.on('error', () => {}); // the daemon's shutdown may reset it
  const answer = await h2Request(session, { ':path': '/health', ':authority': `49983-nosuch.microvm.localhost:${d.gatewayPort}` });
  assert.equal(session.alpnProtocol, 'h2');
  assert.equal(answer.status, 502);
  assert.deepEqual(JSON.parse(answer.body), { message: 'The sandbox was not found', sandboxId: 'nosuch', code: 502 });
  session.close();
});
