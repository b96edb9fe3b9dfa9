/** TLS and E2B data-plane settings of `cubby serve`: flags over environment, bad combinations refused. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { daemonConfig } from '../../src/daemon/config.js';

test('--tls self-signed, --tls-cert with --tls-key, or neither; anything else refused', () => {
  assert.deepEqual(daemonConfig({ tls: 'self-signed' }).tls, { mode: 'self-signed' });
  assert.deepEqual(daemonConfig({ tlsCert: 'c.pem', tlsKey: 'k.pem' }).tls, {
    mode: 'files',
    certFile: path.resolve('c.pem'),
    keyFile: path.resolve('k.pem'),
  });
  assert.equal(daemonConfig({}).tls, undefined);
  assert.throws(() => daemonConfig({ tls: 'on' }), /--tls: expected self-signed/);
  assert.throws(() => daemonConfig({ tlsCert: 'c.pem' }), /go together/);
  assert.throws(() => daemonConfig({ tlsKey: 'k.pem' }), /go together/);
  assert.throws(() => daemonConfig({ tls: 'self-signed', tlsCert: 'c.pem', tlsKey: 'k.pem' }), /exclude each other/);
});

test('--e2b-require-traffic-token is off unless asked for', () => {
  assert.equal(daemonConfig({}).e2bRequireTrafficToken, undefined);
  assert.equal(daemonConfig({ e2bRequireTrafficToken: true }).e2bRequireTrafficToken, true);
});
