/** The operator's one-time console links: spent once, refused after expiry, never stored in clear. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { consumeConsoleLogin, issueConsoleLogin } from '../../src/daemon/console-logins.js';
import { ConsoleSessions } from '../../src/api/console/sessions.js';

describe('console sign-in links and sessions', () => {
  it('a link works once, only before it expires, and its token is not on disk', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-login-'));
    try {
      const { token } = await issueConsoleLogin(dir);
      const files = await fs.readdir(path.join(dir, 'console-logins'));
      assert.equal(files.length, 1);
      assert.ok(
        !files[0]?.includes(token) && !(await fs.readFile(path.join(dir, 'console-logins', files[0] ?? ''), 'utf8')).includes(token),
      );
      // Two sign-ins racing with the same link: exactly one wins.
      const wins = await Promise.all([consumeConsoleLogin(dir, token), consumeConsoleLogin(dir, token)]);
      assert.deepEqual(wins.sort(), [false, true]);
      assert.equal(await consumeConsoleLogin(dir, token), false);
      const old = await issueConsoleLogin(dir, -1);
      assert.equal(await consumeConsoleLogin(dir, old.token), false, 'expired');
      assert.equal(await consumeConsoleLogin(dir, 'x'.repeat(43)), false, 'unknown');
      assert.equal(await consumeConsoleLogin(dir, '../../etc/passwd'), false, 'malformed');
      assert.deepEqual(await fs.readdir(path.join(dir, 'console-logins')), [], 'spent and expired links are removed');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('sessions expire on the clock, and end on sign-out or when their key is revoked', () => {
    let now = 1_000_000;
    const sessions = new ConsoleSessions(60, () => now);
    const tenant = { id: 'tn_a', name: 'a', accountId: '000000000001', createdAt: new Date() };
    const s = sessions.create({ kind: 'tenant', tenant, via: 'access-key', keyId: 'K1' });
    assert.equal(sessions.get(s.id)?.id, s.id);
    now += 59_000;
    assert.ok(sessions.get(s.id));
    now += 1_000;
    assert.equal(sessions.get(s.id), undefined, 'expired at its deadline');
    const t = sessions.create({ kind: 'tenant', tenant, via: 'access-key', keyId: 'K1' });
    const u = sessions.create({ kind: 'tenant', tenant, via: 'access-key', keyId: 'K2' });
    sessions.expireKey('K1');
    assert.equal(sessions.get(t.id), undefined);
    assert.ok(sessions.get(u.id));
    sessions.expire(u.id);
    assert.equal(sessions.get(u.id), undefined);
    assert.notEqual(t.csrf, t.id);
  });
});
