/**
 * The code interpreter's port: /execute runs code as the sandbox's user, so the gateway asks for
 * the sandbox's access token there (as the client sends it); its other paths (contexts, health)
 * follow the port's traffic rules, which the client's context calls rely on (they carry no token).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkE2bAccess, type E2bAccessRequest } from '../../src/gateway/e2b-access.js';
import { isCubbyError } from '../../src/errors/index.js';

const e2b = { envdAccessToken: 'envd-secret', allowPublicTraffic: true };
const req = (over: Partial<E2bAccessRequest>): E2bAccessRequest => ({
  e2b,
  port: 49999,
  method: 'POST',
  url: '/execute',
  headers: {},
  cubbyTokenValid: false,
  requireTrafficToken: false,
  ...over,
});
const refusedWith = (r: E2bAccessRequest, code: string) =>
  assert.throws(
    () => checkE2bAccess(r),
    (e: unknown) => isCubbyError(e) && e.code === code,
  );

test('/execute needs the right X-Access-Token, even with public traffic', () => {
  refusedWith(req({}), 'AUTH_MISSING');
  refusedWith(req({ headers: { 'x-access-token': 'someone-elses' } }), 'TOKEN_INVALID');
  refusedWith(req({ url: '/execute?source=ci', headers: { 'x-access-token': 'envd-secret-' } }), 'TOKEN_INVALID');
  checkE2bAccess(req({ headers: { 'x-access-token': 'envd-secret' } }));
  checkE2bAccess(req({ url: '/execute?source=ci', headers: { 'x-access-token': 'envd-secret' } }));
});

test("the token does not replace the traffic token when the sandbox's ports are private", () => {
  const priv = { ...e2b, allowPublicTraffic: false, trafficAccessToken: 'traffic' };
  refusedWith(req({ e2b: priv, headers: { 'x-access-token': 'envd-secret' } }), 'AUTH_MISSING');
  checkE2bAccess(req({ e2b: priv, headers: { 'x-access-token': 'envd-secret', 'e2b-traffic-access-token': 'traffic' } }));
});

test('contexts and health follow the port rules; other ports are unchanged; a Cubby endpoint token suffices', () => {
  checkE2bAccess(req({ url: '/contexts' }));
  checkE2bAccess(req({ method: 'GET', url: '/health' }));
  checkE2bAccess(req({ port: 8080, url: '/execute' }));
  checkE2bAccess(req({ cubbyTokenValid: true }));
});
