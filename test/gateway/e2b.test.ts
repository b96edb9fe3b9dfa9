/**
 * The gateway's E2B data plane against real local servers standing in for the agent (49983) and
 * an app: both routing forms, the envd access token and signed /files URLs, the traffic token,
 * E2B's 502 for a sandbox that is not running, and auto-resume holding the request.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ENVD_PORT, fileSignature } from '../../src/gateway/e2b-access.js';
import { call } from './support/client.js';
import { e2bRig, ENVD_TOKEN, SBX, TRAFFIC_TOKEN } from './support/e2b-rig.js';
import { DOMAIN } from './support/setup.js';

const envdHost = `${ENVD_PORT}-${SBX}.${DOMAIN}`;
const byHeaders = (port: number) => ({ 'e2b-sandbox-id': SBX, 'e2b-sandbox-port': String(port) });

test('host routing and header routing reach the named port of the sandbox', async (t) => {
  const r = await e2bRig(t);
  const viaHost = await call(r.port, { host: envdHost, headers: { 'x-access-token': ENVD_TOKEN } });
  assert.equal(viaHost.status, 200, viaHost.body.toString());
  assert.equal(viaHost.json().port, ENVD_PORT);
  assert.equal(r.agent.hits.length, 1);

  const viaHeaders = await call(r.port, {
    host: `${DOMAIN}:${r.port}`,
    headers: { ...byHeaders(ENVD_PORT), 'x-access-token': ENVD_TOKEN },
  });
  assert.equal(viaHeaders.status, 200);
  assert.equal(viaHeaders.json().port, ENVD_PORT);
  // X-Access-Token goes on to the agent, as E2B's proxy forwards it.
  assert.equal(r.agent.hits.at(-1)?.headers['x-access-token'], ENVD_TOKEN);

  const app = await call(r.port, { host: DOMAIN, headers: byHeaders(r.app.port) });
  assert.equal(app.status, 200);
  assert.equal(app.json().port, r.app.port);
  const appByHost = await call(r.port, { host: `${r.app.port}-${SBX}.${DOMAIN}` });
  assert.equal(appByHost.json().port, r.app.port);
  assert.equal(r.app.hits.length, 2);
});

test('the agent port needs the envd access token: missing and wrong refused, a Cubby token not enough', async (t) => {
  const r = await e2bRig(t);
  for (const headers of [{}, { 'x-access-token': 'wrong' }, { 'x-access-token': `${ENVD_TOKEN}x` }, { 'x-access-token': '' }]) {
    const a = await call(r.port, { host: envdHost, headers });
    assert.equal(a.status, 401, JSON.stringify(headers));
    assert.equal(a.json().code, 401);
    assert.equal(a.headers['content-type'], 'application/json');
  }
  // An endpoint token for every port does not open the agent: it runs commands in the sandbox.
  const cubby = r.tokens.mint(SBX, 't1', 'all', 5, 'endpoint').token;
  assert.equal((await call(r.port, { host: envdHost, headers: { 'x-aws-proxy-auth': cubby } })).status, 401);
  const both = await call(r.port, { host: envdHost, headers: { 'x-aws-proxy-auth': cubby, 'x-access-token': ENVD_TOKEN } });
  assert.equal(both.status, 200);
  // The Lambda form reaches the same port and obeys the same rule.
  const lambda = await call(r.port, {
    host: `${SBX}.${DOMAIN}`,
    headers: { 'x-aws-proxy-auth': cubby, 'x-aws-proxy-port': String(ENVD_PORT) },
  });
  assert.equal(lambda.status, 401);
  assert.equal(r.agent.hits.length, 1, 'only the authorised requests reached the agent');
});

test('signed /files URLs: valid read and write pass, expired gets E2B exact body, wrong or misused refused', async (t) => {
  const r = await e2bRig(t);
  const nowS = Math.floor(Date.now() / 1000);
  const q = (p: Record<string, string>) => `/files?${new URLSearchParams(p).toString()}`;

  const read = fileSignature('/home/user/a.txt', 'read', 'user', ENVD_TOKEN);
  const ok = await call(r.port, { host: envdHost, path: q({ path: '/home/user/a.txt', username: 'user', signature: read }) });
  assert.equal(ok.status, 200, ok.body.toString());
  assert.ok(r.agent.hits.at(-1)?.url.startsWith('/files?'));

  const exp = nowS + 60;
  const write = fileSignature('rel/b.txt', 'write', '', ENVD_TOKEN, exp);
  const up = await call(r.port, {
    host: envdHost,
    method: 'POST',
    path: q({ path: 'rel/b.txt', signature: write, signature_expiration: String(exp) }),
    body: 'data',
  });
  assert.equal(up.status, 200, up.body.toString());

  const old = nowS - 5;
  const expired = await call(r.port, {
    host: envdHost,
    path: q({ path: 'a', signature: fileSignature('a', 'read', '', ENVD_TOKEN, old), signature_expiration: String(old) }),
  });
  assert.equal(expired.status, 401);
  assert.equal(expired.body.toString(), '{"code":401,"message":"signature is already expired"}');

  const refused = [
    q({ path: '/home/user/a.txt', username: 'user', signature: `${read}x` }), // wrong
    q({ path: '/home/user/b.txt', username: 'user', signature: read }), // another path
    q({ path: '/home/user/a.txt', username: 'root', signature: read }), // another user
    q({ path: 'rel/b.txt', signature: write, signature_expiration: String(exp + 1) }), // expiry moved
    q({ path: 'rel/b.txt', signature: fileSignature('rel/b.txt', 'read', '', 'other-token') }), // other token
  ];
  for (const path of refused) assert.equal((await call(r.port, { host: envdHost, path })).status, 401, path);
  // A write signature does not read, and a signature opens /files only.
  assert.equal(
    (await call(r.port, { host: envdHost, path: q({ path: 'rel/b.txt', signature: write, signature_expiration: String(exp) }) })).status,
    401,
  );
  assert.equal(
    (
      await call(r.port, {
        host: envdHost,
        path: `/health?${new URLSearchParams({ path: 'a', signature: fileSignature('a', 'read', '', ENVD_TOKEN) })}`,
      })
    ).status,
    401,
  );
  assert.equal(r.agent.hits.length, 2);
});

test('traffic to app ports: public by default; with allowPublicTraffic false the traffic token is required and not forwarded', async (t) => {
  const open = await e2bRig(t);
  assert.equal((await call(open.port, { host: `${open.app.port}-${SBX}.${DOMAIN}` })).status, 200);

  const r = await e2bRig(t, { e2b: { allowPublicTraffic: false } });
  const host = `${r.app.port}-${SBX}.${DOMAIN}`;
  const missing = await call(r.port, { host });
  assert.equal(missing.status, 401);
  assert.equal(missing.json().code, 401);
  assert.equal((await call(r.port, { host, headers: { 'e2b-traffic-access-token': 'nope' } })).status, 401);
  // The envd token is not a traffic token.
  assert.equal((await call(r.port, { host, headers: { 'e2b-traffic-access-token': ENVD_TOKEN } })).status, 401);
  const ok = await call(r.port, { host: DOMAIN, headers: { ...byHeaders(r.app.port), 'e2b-traffic-access-token': TRAFFIC_TOKEN } });
  assert.equal(ok.status, 200);
  assert.equal(ok.json<{ headers: Record<string, string> }>().headers['e2b-traffic-access-token'], undefined, 'stripped');
  // A Cubby endpoint token for the port opens it too; one for another port does not.
  const cubby = r.tokens.mint(SBX, 't1', [{ from: r.app.port, to: r.app.port }], 5, 'endpoint').token;
  assert.equal((await call(r.port, { host, headers: { 'x-aws-proxy-auth': cubby } })).status, 200);
  const elsewhere = r.tokens.mint(SBX, 't1', [{ from: 1, to: 2 }], 5, 'endpoint').token;
  assert.equal((await call(r.port, { host, headers: { 'x-aws-proxy-auth': elsewhere } })).status, 403);
  // Another tenant's token for this sandbox id is refused.
  const foreign = r.tokens.mint(SBX, 't2', 'all', 5, 'endpoint').token;
  assert.equal((await call(r.port, { host, headers: { 'x-aws-proxy-auth': foreign } })).status, 401);
  assert.equal(r.app.hits.length, 2);
});

test('the operator flag requires the traffic token even for public sandboxes; none issued means closed', async (t) => {
  const r = await e2bRig(t, { gateway: { e2bRequireTrafficToken: true } });
  const host = `${r.app.port}-${SBX}.${DOMAIN}`;
  assert.equal((await call(r.port, { host })).status, 401);
  assert.equal((await call(r.port, { host, headers: { 'e2b-traffic-access-token': TRAFFIC_TOKEN } })).status, 200);
  if (r.info.e2b) delete r.info.e2b.trafficAccessToken;
  assert.equal((await call(r.port, { host, headers: { 'e2b-traffic-access-token': TRAFFIC_TOKEN } })).status, 401);
  assert.equal((await call(r.port, { host, headers: { 'e2b-traffic-access-token': '' } })).status, 401);
});

test('a paused, killed or unknown sandbox answers 502 with E2B body on any port, in both forms', async (t) => {
  const r = await e2bRig(t);
  const expected = JSON.stringify({ message: 'The sandbox was not found', sandboxId: SBX, code: 502 });
  const ask = async () => {
    const answers = [
      await call(r.port, { host: envdHost, path: '/health', headers: { 'x-access-token': ENVD_TOKEN } }),
      await call(r.port, { host: envdHost, path: '/health' }),
      await call(r.port, { host: DOMAIN, headers: byHeaders(ENVD_PORT) }),
      await call(r.port, { host: `${r.app.port}-${SBX}.${DOMAIN}` }),
      await call(r.port, { host: DOMAIN, headers: byHeaders(49999) }),
    ];
    for (const a of answers) {
      assert.equal(a.status, 502);
      assert.equal(a.headers['content-type'], 'application/json');
      assert.equal(a.body.toString(), expected);
    }
  };
  r.info.state = 'SUSPENDED';
  r.info.autoResume = false;
  await ask();
  r.info.state = 'TERMINATED';
  r.info.autoResume = true;
  await ask();
  r.targets.infos.delete(SBX);
  await ask();
  const other = await call(r.port, { host: `${ENVD_PORT}-nosuch.${DOMAIN}` });
  assert.equal(other.body.toString(), JSON.stringify({ message: 'The sandbox was not found', sandboxId: 'nosuch', code: 502 }));
  assert.equal(r.agent.hits.length + r.app.hits.length, 0);
  assert.deepEqual(r.targets.ensureCalls, []);
});

test('with auto-resume a request to a paused sandbox resumes it and is held until it runs', async (t) => {
  const r = await e2bRig(t);
  r.info.state = 'SUSPENDED';
  r.info.autoResume = true;
  const t0 = Date.now();
  const [a, b] = await Promise.all([
    call(r.port, { host: envdHost, path: '/echo', headers: { 'x-access-token': ENVD_TOKEN } }),
    call(r.port, { host: DOMAIN, headers: byHeaders(r.app.port) }),
  ]);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  assert.ok(Date.now() - t0 >= 190, 'held for the resume');
  assert.deepEqual(r.targets.ensureCalls, [SBX], 'one resume shared');
  // A refused caller never resumes it.
  r.info.state = 'SUSPENDED';
  assert.equal((await call(r.port, { host: envdHost, headers: { 'x-access-token': 'wrong' } })).status, 401);
  assert.deepEqual(r.targets.ensureCalls, [SBX]);
});
