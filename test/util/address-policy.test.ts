import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REFUSED_V4, addressPolicy, parseAllowedRanges, parseCidr4 } from '../../src/util/address-policy.js';

const cidr = (t: string) => parseCidr4(t) ?? assert.fail(`bad test CIDR ${t}`);

test('IPv4: every refused range is refused at both ends; public addresses pass', () => {
  const p = addressPolicy();
  for (const a of [
    '0.0.0.0',
    '0.255.255.255',
    '10.0.0.1',
    '10.255.255.255',
    '100.64.0.1',
    '100.127.255.255',
    '127.0.0.1',
    '127.1.2.3',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.0.0.8',
    '192.0.2.1',
    '192.168.1.1',
    '198.18.0.1',
    '198.19.255.255',
    '198.51.100.7',
    '203.0.113.9',
    '224.0.0.1',
    '239.255.255.255',
    '240.0.0.1',
    '255.255.255.255',
  ]) {
    assert.equal(p.allows(a), false, a);
  }
  for (const a of [
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.1',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
  ]) {
    assert.equal(p.allows(a), true, a);
  }
});

test('IPv6: refused ranges, and mapped/compatible/6to4 forms judged by their IPv4 part', () => {
  const p = addressPolicy();
  for (const a of [
    '::',
    '::1',
    '[::1]',
    'fe80::1',
    'fe80::1%eth0',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '2001:db8::1',
    '64:ff9b::a00:1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::FFFF:169.254.169.254',
    '0:0:0:0:0:ffff:a00:1',
    '::127.0.0.1',
    '::a00:1',
    '2002:7f00:1::1',
    '2002:a9fe:a9fe::',
    'not an ip',
    '',
    'localhost',
    '1.2.3.4.5',
  ]) {
    assert.equal(p.allows(a), false, a);
  }
  for (const a of ['2606:4700::1111', '::ffff:1.1.1.1', '::ffff:808:808', '2002:808:808::1', '2a00:1450::1'])
    assert.equal(p.allows(a), true, a);
});

test('operator allowances open exactly their ranges, for v4, mapped v4 and v6', () => {
  const p = addressPolicy(['127.0.0.1/32', '10.20.0.0/16', 'fd00:1::/32']);
  assert.deepEqual([...p.allowed], ['127.0.0.1/32', '10.20.0.0/16', 'fd00:1::/32']);
  for (const a of ['127.0.0.1', '::ffff:127.0.0.1', '10.20.3.4', 'fd00:1:2::3']) assert.equal(p.allows(a), true, a);
  for (const a of ['127.0.0.2', '10.21.0.1', '::1', 'fd00:2::1', '169.254.169.254']) assert.equal(p.allows(a), false, a);
  assert.throws(() => addressPolicy(['10.0.0.0/33']), /not an IPv4 or IPv6 CIDR/);
  assert.throws(() => parseAllowedRanges(['bogus']), /'bogus'/);
  assert.deepEqual(parseAllowedRanges(['10.1.2.3/8', '192.168.1.5', '::1']), ['10.0.0.0/8', '192.168.1.5/32', '::1/128']);
});

test('overlaps: which refused ranges a CIDR reaches, minus what the operator allowed', () => {
  const p = addressPolicy();
  assert.deepEqual(p.refusedWithin(cidr('0.0.0.0/0')), [...REFUSED_V4]);
  assert.deepEqual(p.refusedWithin(cidr('169.254.169.254')), ['169.254.0.0/16']);
  assert.deepEqual(p.refusedWithin(cidr('8.0.0.0/6')), ['10.0.0.0/8']);
  assert.deepEqual(p.refusedWithin(cidr('8.8.8.0/24')), []);
  assert.deepEqual(p.refusedWithin(cidr('192.0.0.0/16')), ['192.0.0.0/24', '192.0.2.0/24']);
  const op = addressPolicy(['10.20.0.0/16', '169.254.0.0/16']);
  assert.deepEqual(op.refusedWithin(cidr('10.20.5.0/24')), []);
  assert.deepEqual(op.refusedWithin(cidr('10.20.0.0/15')), ['10.0.0.0/8'], 'half inside an allowance is still refused');
  assert.deepEqual(op.refusedWithin(cidr('169.254.169.254')), []);
  assert.deepEqual(addressPolicy(['0.0.0.0/0']).refusedWithin(cidr('0.0.0.0/0')), []);
});

test('blockedV4: disjoint CIDRs of the refused ranges minus the allowed ones', () => {
  const all = addressPolicy().blockedV4();
  assert.ok(all.includes('10.0.0.0/8') && all.includes('169.254.0.0/16') && all.includes('224.0.0.0/3'), all.join(' '));
  assert.ok(!all.includes('255.255.255.255/32'), '255.255.255.255 is inside 240.0.0.0/4: one element, no overlap for nft');
  const op = addressPolicy(['10.20.0.0/16', '127.0.0.1']).blockedV4();
  assert.ok(
    !op.includes('10.0.0.0/8') && op.includes('10.0.0.0/12') && op.includes('10.21.0.0/16') && op.includes('10.128.0.0/9'),
    op.join(' '),
  );
  assert.ok(op.includes('127.0.0.0/32') && op.includes('127.0.0.2/31') && !op.some((c) => c.startsWith('127.0.0.1/')), op.join(' '));
  // Every address of the result is refused and not allowed; addresses around the allowance are blocked.
  const covered = (ip: string) =>
    op.some((c) => {
      const r = cidr(c);
      const n = cidr(ip).base;
      return n >= r.base && n < r.base + 2 ** (32 - r.prefix);
    });
  for (const [ip, want] of [
    ['10.19.255.255', true],
    ['10.20.0.0', false],
    ['10.20.255.255', false],
    ['10.21.0.0', true],
    ['127.0.0.1', false],
    ['127.0.0.2', true],
    ['8.8.8.8', false],
  ] as const) {
    assert.equal(covered(ip), want, ip);
  }
  assert.deepEqual(addressPolicy(['0.0.0.0/0']).blockedV4(), []);
});
