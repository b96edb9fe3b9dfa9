import assert from 'node:assert/strict';
import { test } from 'node:test';
import { daemonConfig } from '../../src/daemon/config.js';

test('--egress-allow-private: comma-separated CIDRs, normalized; a bad entry stops the daemon with its name', () => {
  const saved = process.env.CUBBY_EGRESS_ALLOW_PRIVATE;
  try {
    delete process.env.CUBBY_EGRESS_ALLOW_PRIVATE;
    assert.deepEqual(daemonConfig({ dataDir: '/tmp/x' }).egressAllowPrivate, [], 'nothing private by default');
    assert.deepEqual(daemonConfig({ dataDir: '/tmp/x', egressAllowPrivate: '10.1.2.3/8, 127.0.0.1 ,fd00::/8' }).egressAllowPrivate, [
      '10.0.0.0/8',
      '127.0.0.1/32',
      'fd00::/8',
    ]);
    process.env.CUBBY_EGRESS_ALLOW_PRIVATE = '192.168.7.0/24';
    assert.deepEqual(daemonConfig({ dataDir: '/tmp/x' }).egressAllowPrivate, ['192.168.7.0/24'], 'from the environment');
    assert.throws(
      () => daemonConfig({ dataDir: '/tmp/x', egressAllowPrivate: '10.0.0.0/8,intranet' }),
      /--egress-allow-private: 'intranet' is not an IPv4 or IPv6 CIDR/,
    );
  } finally {
    if (saved === undefined) delete process.env.CUBBY_EGRESS_ALLOW_PRIVATE;
    else process.env.CUBBY_EGRESS_ALLOW_PRIVATE = saved;
  }
});
