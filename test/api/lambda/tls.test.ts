/**
 * The API listener over TLS (`--tls-cert/--tls-key` or `--tls self-signed`): HTTP/2 by ALPN and
 * HTTP/1.1 on one port, verified by a client that trusts only the local CA, with Host restored
 * from :authority for SigV4 and the routes.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createLambdaApi, publicRoute } from '../../../src/api/lambda/index.js';
import { ensureSelfSigned } from '../../../src/gateway/self-signed-ca.js';
import { startFakeCore } from '../../support/fakes/core.js';
import { h2Request } from '../../support/http.js';

test('the API serves HTTP/2 and HTTP/1.1 over TLS with the self-signed CA', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-api-tls-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const material = await ensureSelfSigned(dir, 'cubby.test');
  const ca = await fs.readFile(material.caPath as string);
  const w = await startFakeCore();
  t.after(() => w.close());
  const app = createLambdaApi({
    core: w.core.services,
    lookupKey: async () => undefined,
    endpointFor: (id) => id,
    tls: { cert: material.cert, key: material.key },
  });
  t.after(() => app.close());
  app.get('/whoami', publicRoute, async (req) => ({ host: req.headers.host, version: req.raw.httpVersion }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;

  const h1 = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/whoami', ca, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(h1.status, 200);
  assert.deepEqual(JSON.parse(h1.body), { host: `127.0.0.1:${port}`, version: '1.1' });

  const session = h2connect(`https://localhost:${port}`, { ca });
  t.after(() => session.close());
  const ask = (p: string) => h2Request(session, { ':path': p });
  const h2 = await ask('/whoami');
  assert.equal(h2.status, 200);
  assert.deepEqual(JSON.parse(h2.body), { host: `localhost:${port}`, version: '2.0' });
  // Unsigned requests are still refused, in the Lambda API's shape.
  const refused = await ask('/2025-09-09/microvms');
  assert.equal(refused.status, 403);
  assert.equal(session.alpnProtocol, 'h2');
});
