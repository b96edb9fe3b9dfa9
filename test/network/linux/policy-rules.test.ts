import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EgressPolicy } from '../../../src/core/ports/network.js';
import { isCubbyError } from '../../../src/errors/index.js';
import { chainRules, normalizePolicy, policyRules } from '../../../src/network/linux/egress-policy.js';
import { baseScript } from '../../../src/network/linux/nft-scripts.js';
import { parseCidr, formatCidr } from '../../../src/network/linux/ipv4.js';
import { AddressPool } from '../../../src/network/linux/pool.js';
import { addressPolicy } from '../../../src/util/address-policy.js';

const POOL = '10.213.0.0/16';

/** The drop rule of the private and reserved ranges, with no operator allowance. */
const NON_PUBLIC = `ip daddr { ${addressPolicy().blockedV4().join(', ')} } drop`;

test('each mode renders to its chain rules, other sandboxes then non-public ranges dropped first', () => {
  assert.deepEqual(policyRules({ mode: 'closed' }, POOL), ['ip daddr 10.213.0.0/16 drop', 'drop']);
  const internet = policyRules({ mode: 'internet' }, POOL);
  assert.deepEqual(internet, ['ip daddr 10.213.0.0/16 drop', NON_PUBLIC, 'accept']);
  // Written out on purpose, not REFUSED_V4: an independent oracle of the merged rule (224/4 and 240/4 become 224/3).
  for (const c of [
    '0.0.0.0/8',
    '10.0.0.0/8',
    '100.64.0.0/10',
    '127.0.0.0/8',
    '169.254.0.0/16',
    '172.16.0.0/12',
    '192.0.0.0/24',
    '192.0.2.0/24',
    '192.168.0.0/16',
    '198.18.0.0/15',
    '198.51.100.0/24',
    '203.0.113.0/24',
    '224.0.0.0/3',
  ]) {
    assert.ok(NON_PUBLIC.includes(` ${c},`) || NON_PUBLIC.includes(` ${c} }`), `${c} in ${NON_PUBLIC}`);
  }
  // Public ranges (strings only: nothing is sent).
  const allow = policyRules(
    normalizePolicy({
      mode: 'allowlist',
      rules: [
        { cidr: '93.184.216.7/24' },
        { cidr: '93.184.216.9', protocol: 'udp' },
        {
          cidr: '1.1.1.0/24',
          protocol: 'tcp',
          ports: [
            { from: 443, to: 443 },
            { from: 8000, to: 8080 },
          ],
        },
        { cidr: '8.8.8.0/24', ports: [{ from: 53, to: 53 }] },
      ],
    }),
    POOL,
  );
  assert.deepEqual(allow, [
    'ip daddr 10.213.0.0/16 drop',
    NON_PUBLIC,
    'ip daddr 93.184.216.0/24 meta l4proto { tcp, udp } accept',
    'ip daddr 93.184.216.9/32 meta l4proto udp accept',
    'ip daddr 1.1.1.0/24 tcp dport { 443, 8000-8080 } accept',
    'ip daddr 8.8.8.0/24 meta l4proto { tcp, udp } th dport 53 accept',
    'drop',
  ]);
});

test('operator-allowed private ranges: internet reaches them, an allowlist may name them, the rest stays dropped', () => {
  const op = addressPolicy(['10.20.0.0/16', '169.254.169.254/32']);
  const internet = policyRules({ mode: 'internet' }, POOL, op);
  assert.equal(internet.length, 3);
  assert.equal(internet[0], 'ip daddr 10.213.0.0/16 drop', 'other sandboxes first, even inside an allowed range');
  const drop = internet[1] ?? '';
  for (const c of ['10.0.0.0/12', '10.21.0.0/16', '10.128.0.0/9', '169.254.0.0/17', '169.254.169.255/32', '192.168.0.0/16'])
    assert.ok(drop.includes(` ${c},`) || drop.includes(` ${c} }`), `${c} dropped: ${drop}`);
  for (const c of ['10.0.0.0/8', '10.20.0.0/16', '169.254.0.0/16'])
    assert.ok(!drop.includes(` ${c},`) && !drop.includes(` ${c} }`), `${c} not dropped whole: ${drop}`);
  assert.equal(internet[2], 'accept');
  const allow = policyRules(
    normalizePolicy({ mode: 'allowlist', rules: [{ cidr: '10.20.1.0/24', ports: [{ from: 5432, to: 5432 }] }] }, op),
    POOL,
    op,
  );
  assert.deepEqual(allow, [
    'ip daddr 10.213.0.0/16 drop',
    drop,
    'ip daddr 10.20.1.0/24 meta l4proto { tcp, udp } th dport 5432 accept',
    'drop',
  ]);
  assert.deepEqual(policyRules({ mode: 'internet' }, POOL, addressPolicy(['0.0.0.0/0'])), ['ip daddr 10.213.0.0/16 drop', 'accept']);
});

test('the driver refuses rules that reach private or reserved ranges the operator has not allowed', () => {
  for (const cidr of [
    '169.254.169.254',
    '0.0.0.0/0',
    '10.0.0.0/8',
    '172.16.0.0/12',
    '192.168.1.0/24',
    '127.0.0.1',
    '100.64.0.0/10',
    '8.0.0.0/6',
  ]) {
    assert.throws(
      () => normalizePolicy({ mode: 'allowlist', rules: [{ cidr }] }),
      (e: unknown) => {
        assert.ok(isCubbyError(e, 'NETWORK_BAD_POLICY'), String(e));
        assert.match(e.message, /reaches private or reserved addresses/);
        return true;
      },
      cidr,
    );
  }
  const op = addressPolicy(['10.20.0.0/16']);
  assert.deepEqual(normalizePolicy({ mode: 'allowlist', rules: [{ cidr: '10.20.9.9/24' }] }, op), {
    mode: 'allowlist',
    rules: [{ cidr: '10.20.9.0/24' }],
  });
  assert.throws(
    () => normalizePolicy({ mode: 'allowlist', rules: [{ cidr: '10.20.0.0/15' }] }, op),
    (e: unknown) => isCubbyError(e, 'NETWORK_BAD_POLICY'),
  );
});

test('the base chains drop every non-IPv4 packet from a sandbox (IPv6 goes nowhere)', () => {
  const script = baseScript(POOL);
  assert.match(script, /^add table inet cubby$/m, 'the filter table sees both families');
  assert.match(script, /^add rule inet cubby input iifname "[^"]+\*" meta nfproto != ipv4 drop$/m);
  assert.match(script, /^add rule inet cubby forward iifname "[^"]+\*" meta nfproto != ipv4 drop$/m);
  const lines = script.split('\n');
  const firstForward = lines.findIndex((l) => l.startsWith('add rule inet cubby forward iifname'));
  assert.match(lines[firstForward] ?? '', /meta nfproto != ipv4 drop$/, 'before any accept');
});

test('malformed policies are NETWORK_BAD_POLICY', () => {
  const bad: unknown[] = [
    undefined,
    {},
    { mode: 'open' },
    { mode: 'allowlist' },
    { mode: 'allowlist', rules: [null] },
    { mode: 'allowlist', rules: [{ cidr: '10.0.0.0/33' }] },
    { mode: 'allowlist', rules: [{ cidr: '10.0.0' }] },
    { mode: 'allowlist', rules: [{ cidr: '8.8.8.8' }, { cidr: '169.254.169.254' }] },
    { mode: 'allowlist', rules: [{ cidr: '1.2.3.4/8; flush ruleset' }] },
    { mode: 'allowlist', rules: [{ cidr: '1.2.3.4', ports: [{ from: 0, to: 1 }] }] },
    { mode: 'allowlist', rules: [{ cidr: '1.2.3.4', ports: [{ from: 10, to: 70000 }] }] },
    { mode: 'allowlist', rules: [{ cidr: '1.2.3.4', ports: [{ from: 1.5, to: 2 }] }] },
    { mode: 'allowlist', rules: [{ cidr: '1.2.3.4', protocol: 'sctp' }] },
  ];
  for (const p of bad)
    assert.throws(
      () => normalizePolicy(p as EgressPolicy),
      (e) => isCubbyError(e, 'NETWORK_BAD_POLICY'),
      JSON.stringify(p),
    );
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
  assert.throws(
    () => new AddressPool('10.213.0.0/31'),
    (e) => isCubbyError(e, 'CUBBY_VALIDATION'),
  );
});

test('the whole chain: DNS elsewhere dropped, domain sets before the final drop, each verdict counted by a separate rule', () => {
  const rules = chainRules(
    7,
    normalizePolicy({
      mode: 'allowlist',
      rules: [{ cidr: '93.184.216.0/24', protocol: 'tcp', ports: [{ from: 443, to: 443 }] }],
      domains: [{ domain: 'registry.npmjs.org' }, { domain: '*.example.com', ports: [{ from: 443, to: 443 }] }],
    }),
    POOL,
  );
  const count = (set: string, match: string) =>
    `${match}meta l4proto { tcp, udp } update @${set} { ip daddr . meta l4proto . th dport counter }`;
  assert.deepEqual(rules, [
    count('eno7', 'ip daddr 10.213.0.0/16 '),
    'ip daddr 10.213.0.0/16 drop',
    count('eno7', 'meta l4proto { tcp, udp } th dport 53 '),
    'meta l4proto { tcp, udp } th dport 53 drop',
    count('eno7', `${NON_PUBLIC.slice(0, -'drop'.length)}`),
    NON_PUBLIC,
    count('eok7', 'ip daddr 93.184.216.0/24 tcp dport 443 '),
    'ip daddr 93.184.216.0/24 tcp dport 443 accept',
    count('eok7', 'ip daddr @dna7 meta l4proto { tcp, udp } '),
    'ip daddr @dna7 meta l4proto { tcp, udp } accept',
    count('eok7', 'meta l4proto { tcp, udp } ip daddr . th dport @dnp7 '),
    'meta l4proto { tcp, udp } ip daddr . th dport @dnp7 accept',
    count('eno7', ''),
    'drop',
  ]);
  // internet: DNS to other servers is dropped before the final accept.
  const internet = chainRules(3, { mode: 'internet' }, POOL);
  assert.equal(internet[3], 'meta l4proto { tcp, udp } th dport 53 drop');
  assert.equal(internet.at(-1), 'accept');
});
