import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { connectorsToEgress, egressToConnectors, normalizeCidr } from '../../../../src/api/lambda/mapping/egress.js';
import { isCubbyError } from '../../../../src/errors/index.js';
import { addressPolicy } from '../../../../src/util/address-policy.js';

test('connector names map to the core egress policies', () => {
  assert.deepEqual(connectorsToEgress([]), { mode: 'closed' });
  assert.deepEqual(connectorsToEgress(['internet']), { mode: 'internet' });
  assert.deepEqual(connectorsToEgress(['arn:aws:lambda:us-east-1:aws:network-connector:aws-network-connector:INTERNET_EGRESS']), {
    mode: 'internet',
  });
  assert.deepEqual(connectorsToEgress(['arn:aws:lambda:local:111111111111:network-connector/internet']), { mode: 'internet' });
  // Public ranges (only ever strings here: nothing is sent).
  assert.deepEqual(
    connectorsToEgress([
      'allow:93.184.1.2/16',
      'allow:8.8.8.8:443',
      'arn:aws:lambda:local:aws:network-connector:allow:1.1.1.0/24:8000-8080',
    ]),
    {
      mode: 'allowlist',
      rules: [
        { cidr: '93.184.0.0/16' },
        { cidr: '8.8.8.8/32', ports: [{ from: 443, to: 443 }] },
        { cidr: '1.1.1.0/24', ports: [{ from: 8000, to: 8080 }] },
      ],
    },
  );
});

test('allow entries that reach private or reserved addresses are refused, naming them', () => {
  const refused = (connectors: string[], names: RegExp, policy = addressPolicy()) =>
    assert.throws(
      () => connectorsToEgress(connectors, policy),
      (e: unknown) => {
        assert.ok(isCubbyError(e, 'CUBBY_VALIDATION'), String(e));
        assert.match(e.message, new RegExp(`'${connectors.at(-1)?.replace(/[./]/g, '\\$&') ?? ''}' reaches private or reserved addresses`));
        assert.match(e.message, names);
        assert.match(e.message, /use 'internet' for the public internet, or ask the operator to allow the range/);
        return true;
      },
      connectors.join(','),
    );
  refused(['allow:169.254.169.254'], /\(169\.254\.0\.0\/16\)/);
  refused(['allow:169.254.169.254:80'], /169\.254\.0\.0\/16/);
  refused(['allow:0.0.0.0/0'], /\(0\.0\.0\.0\/8, 10\.0\.0\.0\/8, .*and \d+ more\)/);
  refused(['allow:8.8.8.8', 'allow:127.0.0.1'], /127\.0\.0\.0\/8/);
  refused(['allow:10.0.0.0/8'], /10\.0\.0\.0\/8/);
  refused(['allow:172.16.5.0/24'], /172\.16\.0\.0\/12/);
  refused(['allow:192.168.0.0/16'], /192\.168\.0\.0\/16/);
  refused(['allow:100.64.0.1'], /100\.64\.0\.0\/10/);
  refused(['allow:8.0.0.0/6'], /\(10\.0\.0\.0\/8\)/, addressPolicy(['10.20.0.0/16']));
  refused(['allow:10.20.0.0/15'], /10\.0\.0\.0\/8/, addressPolicy(['10.20.0.0/16']));
  refused(['arn:aws:lambda:local:aws:network-connector:allow:192.0.2.1'], /192\.0\.2\.0\/24/);
});

test('the operator may allow private ranges: entries wholly inside them pass', () => {
  const op = addressPolicy(['10.20.0.0/16', '169.254.169.254/32']);
  assert.deepEqual(connectorsToEgress(['allow:10.20.3.0/24:5432', 'allow:169.254.169.254'], op), {
    mode: 'allowlist',
    rules: [{ cidr: '10.20.3.0/24', ports: [{ from: 5432, to: 5432 }] }, { cidr: '169.254.169.254/32' }],
  });
  assert.deepEqual(connectorsToEgress(['allow:0.0.0.0/0'], addressPolicy(['0.0.0.0/0'])), {
    mode: 'allowlist',
    rules: [{ cidr: '0.0.0.0/0' }],
  });
});

test('bad connector names are validation errors', () => {
  for (const bad of [
    ['x'],
    ['allow:'],
    ['allow:1.2.3'],
    ['allow:1.2.3.4/-1'],
    ['allow:1.2.3.4:65536'],
    ['allow:1.2.3.4:a'],
    ['internet', 'allow:1.2.3.4'],
    ['arn:aws:lambda:local:aws:microvm-image:x'],
  ]) {
    assert.throws(
      () => connectorsToEgress(bad),
      (e: unknown) => isCubbyError(e, 'CUBBY_VALIDATION'),
      bad.join(','),
    );
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
  const rule = fc
    .tuple(
      fc.ipV4(),
      fc.integer({ min: 0, max: 32 }),
      fc.option(fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 100 }))),
    )
    .map(([ip, n, p]) => {
      const cidr = normalizeCidr(`${ip}/${n}`) ?? '';
      if (!p) return `allow:${cidr}`;
      const to = Math.min(65535, p[0] + p[1]);
      return `allow:${cidr}:${to === p[0] ? p[0] : `${p[0]}-${to}`}`;
    });
  fc.assert(
    fc.property(fc.array(rule, { maxLength: 10 }), (connectors) => {
      assert.deepEqual(egressToConnectors(connectorsToEgress(connectors, addressPolicy(['0.0.0.0/0']))), connectors);
    }),
  );
});

test('allow:domain: connectors become domain rules beside the CIDR rules, and map back', () => {
  const policy = connectorsToEgress(['allow:domain:Registry.npmjs.org', 'allow:domain:*.example.com:443', 'allow:8.8.8.8:443']);
  assert.deepEqual(policy, {
    mode: 'allowlist',
    rules: [{ cidr: '8.8.8.8/32', ports: [{ from: 443, to: 443 }] }],
    domains: [{ domain: 'registry.npmjs.org' }, { domain: '*.example.com', ports: [{ from: 443, to: 443 }] }],
  });
  assert.deepEqual(egressToConnectors(policy), [
    'allow:8.8.8.8/32:443',
    'allow:domain:registry.npmjs.org',
    'allow:domain:*.example.com:443',
  ]);
  assert.deepEqual(connectorsToEgress(['allow:domain:api.example.com:8000-8063']), {
    mode: 'allowlist',
    rules: [],
    domains: [{ domain: 'api.example.com', ports: [{ from: 8000, to: 8063 }] }],
  });
  for (const bad of [
    ['allow:domain:*.com'],
    ['allow:domain:exa_mple..com'],
    ['allow:domain:10.0.0.1'],
    ['allow:domain:api.example.com:1000-1064'],
    ['allow:domain:api.example.com:0'],
    ['internet', 'allow:domain:api.example.com'],
  ]) {
    assert.throws(
      () => connectorsToEgress(bad),
      (e: unknown) => isCubbyError(e, 'CUBBY_VALIDATION'),
      bad.join(' '),
    );
  }
});
