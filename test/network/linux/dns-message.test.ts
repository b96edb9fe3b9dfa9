/** The resolver's DNS wire reading: real-shaped messages, and never a throw on hostile bytes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  RCODE_NXDOMAIN,
  buildAAnswer,
  buildQuery,
  errorAnswer,
  parseAnswer,
  parseQuery,
  typeName,
} from '../../../src/network/linux/dns/message.js';
import { namePolicy } from '../../../src/network/linux/dns/domains.js';

test('a query and its answers round-trip; NXDOMAIN keeps the id and question', () => {
  const q = buildQuery(0xbeef, 'Registry.NPMjs.org', 28);
  const parsed = parseQuery(q);
  assert.deepEqual(parsed, { name: 'registry.npmjs.org', type: 28, end: q.length });
  assert.equal(typeName(28), 'AAAA');
  const nx = errorAnswer(q, parsed!, RCODE_NXDOMAIN);
  assert.equal(nx.readUInt16BE(0), 0xbeef);
  assert.equal(nx.readUInt16BE(2) & 0x800f, 0x8003);
  assert.deepEqual(parseAnswer(nx), { rcode: RCODE_NXDOMAIN, records: [] });
  const a = buildAAnswer(buildQuery(7, 'x.example.com'), ['93.184.216.34', '93.184.216.35'], 300);
  assert.deepEqual(parseAnswer(a), {
    rcode: 0,
    records: [
      { name: 'x.example.com', address: '93.184.216.34', ttl: 300 },
      { name: 'x.example.com', address: '93.184.216.35', ttl: 300 },
    ],
  });
  assert.equal(parseQuery(a), null, 'an answer is not a query');
});

test('a CNAME chain with compressed names yields the A records after it', () => {
  const q = buildQuery(1, 'www.example.com');
  const head = errorAnswer(q, parseQuery(q)!, 0);
  head.writeUInt16BE(2, 6);
  // www.example.com CNAME cdn.example.com (cdn + pointer to "example.com" at offset 16), then its A.
  const cname = Buffer.from([0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, ...Buffer.from('cdn'), 0xc0, 16]);
  const cnameAt = head.length;
  const a = Buffer.from([0xc0, cnameAt + 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 198, 51, 100, 9]);
  assert.deepEqual(parseAnswer(Buffer.concat([head, cname, a])).records, [{ name: 'cdn.example.com', address: '198.51.100.9', ttl: 30 }]);
});

test('hostile bytes never throw (pointer loops, truncation, garbage)', () => {
  const loop = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
  assert.equal(parseQuery(loop), null);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const b = Buffer.from(bytes);
      parseQuery(b);
      parseAnswer(b);
    }),
    { numRuns: 2000 },
  );
});

test('which names a policy resolves, and what their answers open', () => {
  const policy = {
    mode: 'allowlist' as const,
    rules: [],
    domains: [{ domain: '*.example.com', ports: [{ from: 443, to: 443 }] }, { domain: 'registry.npmjs.org' }],
  };
  assert.deepEqual(namePolicy(policy, 'a.b.example.com'), { resolve: true, opens: true, ports: [{ from: 443, to: 443 }] });
  assert.deepEqual(namePolicy(policy, 'example.com'), { resolve: false, opens: false }, 'a wildcard does not match its own domain');
  assert.deepEqual(namePolicy(policy, 'badexample.com'), { resolve: false, opens: false });
  assert.deepEqual(namePolicy(policy, 'registry.npmjs.org'), { resolve: true, opens: true });
  assert.deepEqual(namePolicy(policy, 'npmjs.org'), { resolve: false, opens: false });
  assert.deepEqual(namePolicy({ mode: 'allowlist', rules: [{ cidr: '93.184.216.0/24' }] }, 'anything.test'), {
    resolve: true,
    opens: false,
  });
  assert.deepEqual(namePolicy({ mode: 'internet' }, 'anything.test'), { resolve: true, opens: false });
  assert.deepEqual(namePolicy({ mode: 'closed' }, 'anything.test'), { resolve: false, opens: false });
});
