import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { connectorsToEgress, egressToConnectors, normalizeCidr } from '../../../../src/api/lambda/mapping/egress.js';
import { isCubbyError } from '../../../../src/errors/index.js';

test('connector names map to the core egress policies', () => {
  assert.deepEqual(connectorsToEgress([]), { mode: 'closed' });
  assert.deepEqual(connectorsToEgress(['internet']), { mode: 'internet' });
  assert.deepEqual(connectorsToEgress(['arn:aws:lambda:us-east-1:aws:network-connector:aws-network-connector:INTERNET_EGRESS']), { mode: 'internet' });
  assert.deepEqual(connectorsToEgress(['arn:aws:lambda:local:111111111111:network-connector/internet']), { mode: 'internet' });
  assert.deepEqual(connectorsToEgress(['allow:10.1.2.3/8', 'allow:198.51.100.7:443', 'arn:aws:lambda:local:aws:network-connector:allow:192.0.2.0/24:8000-8080']), {
    mode: 'allowlist',
    rules: [
      { cidr: '10.0.0.0/8' },
      { cidr: '198.51.100.7/32', ports: [{ from: 443, to: 443 }] },
      { cidr: '192.0.2.0/24', ports: [{ from: 8000, to: 8080 }] },
    ],
  });
});

test('bad connector names are validation errors', () => {
  for (const bad of [['x'], ['allow:'], ['allow:1.2.3'], ['allow:1.2.3.4/-1'], ['allow:1.2.3.4:65536'], ['allow:1.2.3.4:a'], ['internet', 'allow:1.2.3.4'], ['arn:aws:lambda:local:aws:microvm-image:x']]) {
    assert.throws(() => connectorsToEgress(bad), (e: unknown) => isCubbyError(e, 'CUBBY_VALIDATION'), bad.join(','));
  }
});

test('normalizeCidr clears host bits and defaults to /32', () => {
  assert.equal(normalizeCidr('10.9.8.7/16'), '10.9.0.0/16');
  assert.equal(normalizeCidr('255.255.255.255'), '255.255.255.255/32');
  assert.equal(normalizeCidr('1.2.3.4/0'), '0.0.0.0/0');
  assert.equal(normalizeCidr('256.0.0.0/8'), undefined);
  assert.equal(normalizeCidr('1.2.3.4/33'), undefined);
});

test('property: canonical connectors survive connectors -> policy -> connectors', () => {
  const rule = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.option(fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 100 }))))
    .map(([ip, n, p]) => {
      const cidr = normalizeCidr(`${ip}/${n}`) ?? '';
      if (!p) return `allow:${cidr}`;
      const to = Math.min(65535, p[0] + p[1]);
      return `allow:${cidr}:${to === p[0] ? p[0] : `${p[0]}-${to}`}`;
    });
  fc.assert(fc.property(fc.array(rule, { maxLength: 10 }), (connectors) => {
    assert.deepEqual(egressToConnectors(connectorsToEgress(connectors)), connectors);
  }));
});
