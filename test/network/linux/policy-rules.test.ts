import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EgressPolicy } from '../../../src/core/ports/network.js';
import { isCubbyError } from '../../../src/errors/index.js';
import { normalizePolicy, policyRules } from '../../../src/network/linux/egress-policy.js';
import { parseCidr, formatCidr } from '../../../src/network/linux/ipv4.js';
import { AddressPool } from '../../../src/network/linux/pool.js';

const POOL = '10.213.0.0/16';

test('each mode renders to its chain rules, other sandboxes dropped first', () => {
  assert.deepEqual(policyRules({ mode: 'closed' }, POOL), ['ip daddr 10.213.0.0/16 drop', 'drop']);
  const internet = policyRules({ mode: 'internet' }, POOL);
  assert.equal(internet[0], 'ip daddr 10.213.0.0/16 drop');
  assert.match(internet[1] ?? '', /^ip daddr \{ .*10\.0\.0\.0\/8.*192\.168\.0\.0\/16.*240\.0\.0\.0\/4 \} drop$/);
  assert.equal(internet.at(-1), 'accept');
  const allow = policyRules(normalizePolicy({
    mode: 'allowlist',
    rules: [
      { cidr: '198.51.100.7/24' },
      { cidr: '198.51.100.9', protocol: 'udp' },
      { cidr: '192.0.2.0/24', protocol: 'tcp', ports: [{ from: 443, to: 443 }, { from: 8000, to: 8080 }] },
      { cidr: '203.0.113.0/24', ports: [{ from: 53, to: 53 }] },
    ],
  }), POOL);
  assert.deepEqual(allow, [
    'ip daddr 10.213.0.0/16 drop',
    'ip daddr 198.51.100.0/24 meta l4proto { tcp, udp } accept',
    'ip daddr 198.51.100.9/32 meta l4proto udp accept',
    'ip daddr 192.0.2.0/24 tcp dport { 443, 8000-8080 } accept',
    'ip daddr 203.0.113.0/24 meta l4proto { tcp, udp } th dport 53 accept',
    'drop',
  ]);
});

test('malformed policies are NETWORK_BAD_POLICY', () => {
  const bad: unknown[] = [
    undefined, {}, { mode: 'open' }, { mode: 'allowlist' }, { mode: 'allowlist', rules: [null] },
    { mode: 'allowlist', rules: [{ cidr: '10.0.0.0/33' }] }, { mode: 'allowlist', rules: [{ cidr: '10.0.0' }] },
    { mode: 'allowlist', rules: [{ cidr: '1.2.3.4/8; flush ruleset' }] },
    { mode: 'allowlist', rules: [{ cidr: '1.2.3.4', ports: [{ from: 0, to: 1 }] }] },
    { mode: 'allowlist', rules: [{ cidr: '1.2.3.4', ports: [{ from: 10, to: 70000 }] }] },
    { mode: 'allowlist', rules: [{ cidr: '1.2.3.4', ports: [{ from: 1.5, to: 2 }] }] },
    { mode: 'allowlist', rules: [{ cidr: '1.2.3.4', protocol: 'sctp' }] },
  ];
  for (const p of bad) assert.throws(() => normalizePolicy(p as EgressPolicy), (e) => isCubbyError(e, 'NETWORK_BAD_POLICY'), JSON.stringify(p));
});

test('CIDRs and pool slots', () => {
  assert.equal(formatCidr(parseCidr('198.51.100.77/26') ?? { base: 0, prefix: 0 }), '198.51.100.64/26');
  assert.equal(parseCidr('0.0.0.0/0')?.base, 0);
  assert.equal(parseCidr('01.2.3.4'), null);
  const pool = new AddressPool('10.213.0.0/16');
  assert.equal(pool.size, 16_384);
  assert.deepEqual(pool.addresses(0), { hostAddress: '10.213.0.1', sandboxAddress: '10.213.0.2', prefixLength: 30 });
  assert.deepEqual(pool.addresses(16_383), { hostAddress: '10.213.255.253', sandboxAddress: '10.213.255.254', prefixLength: 30 });
  assert.throws(() => pool.addresses(16_384));
  assert.throws(() => new AddressPool('10.213.0.0/31'), (e) => isCubbyError(e, 'CUBBY_VALIDATION'));
});
