import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isCubbyError } from '../../src/errors/index.js';
import { KeyRing } from '../../src/gateway/key-ring.js';
import { FileTokenKeyStore, MemoryTokenKeyStore } from '../../src/gateway/token-key-store.js';
import { TokenService } from '../../src/gateway/tokens.js';

const MIN = 60_000;

/** A ring and service on a hand-moved clock. */
async function clocked(store = new MemoryTokenKeyStore(), start = Date.now()) {
  const clock = { now: start };
  const now = () => clock.now;
  const ring = await KeyRing.open({ store, now, rotationIntervalMs: 24 * 60 * MIN });
  return { clock, ring, tokens: new TokenService(ring, { now }) };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isCubbyError(e)) return e.code;
    throw e;
  }
  return 'OK';
}

test('a minted token verifies for its microVM, port and kind, and is url-safe', async () => {
  const { tokens } = await clocked();
  const { token, expiresAt } = tokens.mint(
    'vm1',
    'tenant-a',
    [
      { from: 8080, to: 8080 },
      { from: 9000, to: 9010 },
    ],
    15,
    'endpoint',
  );
  assert.match(token, /^[A-Za-z0-9._-]+$/);
  assert.ok(token.length < 300, `token is compact (${token.length} chars)`);
  assert.ok(Math.abs(expiresAt.getTime() - (Date.now() + 15 * MIN)) < 2000);
  const claims = tokens.verify(token, 'vm1', 9005, 'endpoint');
  assert.equal(claims.tenantId, 'tenant-a');
  assert.equal(
    code(() => tokens.verify(token, 'vm1', 8080, 'endpoint')),
    'OK',
  );
  assert.equal(
    code(() => tokens.verify(token, 'vm1', 8081, 'endpoint')),
    'TOKEN_PORT_DENIED',
  );
  assert.equal(
    code(() => tokens.verify(token, 'vm2', 8080, 'endpoint')),
    'TOKEN_INVALID',
  );
  assert.equal(
    code(() => tokens.verify(token, 'vm1', 8080, 'shell')),
    'TOKEN_INVALID',
  );
  const all = tokens.mint('vm1', 'tenant-a', 'all', 1, 'shell').token;
  assert.equal(
    code(() => tokens.verify(all, 'vm1', 1, 'shell')),
    'OK',
  );
  assert.equal(
    code(() => tokens.verify(all, 'vm1', 65535, 'shell')),
    'OK',
  );
});

test('tampered, truncated or foreign tokens are refused', async () => {
  const { tokens } = await clocked();
  const other = await clocked();
  const token = tokens.mint('vm1', 't', 'all', 5, 'endpoint').token;
  const [p, kid, body, sig] = token.split('.') as [string, string, string, string];
  // Claims rewritten to another microVM, signature kept.
  const forged = Buffer.from(Buffer.from(body, 'base64url').toString().replace('"vm1"', '"vm2"')).toString('base64url');
  const flipped = sig.slice(0, -2) + (sig.at(-2) === 'A' ? 'B' : 'A') + sig.at(-1);
  for (const bad of [
    `${p}.${kid}.${forged}.${sig}`,
    `${p}.${kid}.${body}.${flipped}`,
    `${p}.${kid}.${body}`,
    `${p}.${kid}.${body}.`,
    `x${token}`,
    '',
    'garbage',
    `${p}.${kid}.${body}.${sig}.${sig}`,
    other.tokens.mint('vm1', 't', 'all', 5, 'endpoint').token,
  ]) {
    assert.equal(
      code(() => tokens.verify(bad, 'vm1', 8080, 'endpoint')),
      'TOKEN_INVALID',
      bad,
    );
  }
});

test('tokens expire at their expiry and mint arguments are checked', async () => {
  const { clock, tokens } = await clocked();
  const token = tokens.mint('vm1', 't', 'all', 2, 'endpoint').token;
  clock.now += 2 * MIN - 1500;
  assert.equal(
    code(() => tokens.verify(token, 'vm1', 8080, 'endpoint')),
    'OK',
  );
  clock.now += 1500;
  assert.equal(
    code(() => tokens.verify(token, 'vm1', 8080, 'endpoint')),
    'TOKEN_EXPIRED',
  );
  for (const bad of [0, 61, 1.5])
    assert.equal(
      code(() => tokens.mint('vm1', 't', 'all', bad, 'endpoint')),
      'CUBBY_VALIDATION',
    );
  assert.equal(
    code(() => tokens.mint('VM-1', 't', 'all', 5, 'endpoint')),
    'CUBBY_VALIDATION',
  );
  assert.equal(
    code(() => tokens.mint('vm1', 't', [{ from: 9000, to: 8000 }], 5, 'endpoint')),
    'CUBBY_VALIDATION',
  );
  assert.equal(
    code(() => tokens.mint('vm1', 't', [{ from: 0, to: 80 }], 5, 'endpoint')),
    'CUBBY_VALIDATION',
  );
  assert.equal(
    code(() => tokens.mint('vm1', 't', [], 5, 'endpoint')),
    'CUBBY_VALIDATION',
  );
});

test('rotation: tokens signed before a rotation verify until their key is dropped', async () => {
  const { clock, ring, tokens } = await clocked();
  const before = tokens.mint('vm1', 't', 'all', 60, 'endpoint').token;
  const oldKey = ring.current().id;
  await ring.rotate();
  assert.notEqual(ring.current().id, oldKey);
  const after = tokens.mint('vm1', 't', 'all', 60, 'endpoint').token;
  assert.equal(
    code(() => tokens.verify(before, 'vm1', 80, 'endpoint')),
    'OK',
  );
  assert.equal(
    code(() => tokens.verify(after, 'vm1', 80, 'endpoint')),
    'OK',
  );
  // The old key stays for the longest token lifetime: a 60-minute token outlives its key's retirement.
  clock.now += 59 * MIN;
  await ring.maintain();
  assert.ok(ring.find(oldKey), 'retired key kept within retention');
  assert.equal(
    code(() => tokens.verify(before, 'vm1', 80, 'endpoint')),
    'OK',
  );
  clock.now += 15 * MIN;
  await ring.maintain();
  assert.equal(ring.find(oldKey), undefined, 'retired key dropped after retention');
  // Once dropped, its tokens are unknown (invalid), not merely expired.
  assert.equal(
    code(() => tokens.verify(before, 'vm1', 80, 'endpoint')),
    'TOKEN_INVALID',
  );
});

test('rotation happens on schedule, and a revoked key stops verifying at once', async () => {
  const store = new MemoryTokenKeyStore();
  const clock = { now: Date.now() };
  const ring = await KeyRing.open({ store, now: () => clock.now, rotationIntervalMs: 10 * MIN });
  const tokens = new TokenService(ring, { now: () => clock.now });
  const first = ring.current().id;
  await ring.maintain();
  assert.equal(ring.current().id, first, 'not due yet');
  clock.now += 10 * MIN;
  await ring.maintain();
  assert.notEqual(ring.current().id, first, 'rotated when due');
  const token = tokens.mint('vm1', 't', 'all', 5, 'endpoint').token;
  await ring.revoke(ring.current().id);
  assert.equal(
    code(() => tokens.verify(token, 'vm1', 80, 'endpoint')),
    'TOKEN_INVALID',
  );
  assert.ok(ring.current(), 'a fresh signing key replaced the revoked one');
  await assert.rejects(KeyRing.open({ store, retentionMs: 30 * MIN }), /retention/);
});

test('keys survive a restart through the file store (mode 0600); a corrupt file is an error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cubby-keys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'sub', 'token-keys.json');
  const first = await KeyRing.open({ store: new FileTokenKeyStore(file) });
  const token = new TokenService(first).mint('vm1', 't', [{ from: 8080, to: 8080 }], 30, 'endpoint').token;
  await first.rotate();
  const rotated = new TokenService(first).mint('vm1', 't', 'all', 30, 'endpoint').token;
  assert.equal((await stat(file)).mode & 0o777, 0o600);

  // "Restart": a new ring from the same file verifies both tokens and keeps signing with the same key.
  const second = await KeyRing.open({ store: new FileTokenKeyStore(file) });
  const tokens = new TokenService(second);
  assert.equal(
    code(() => tokens.verify(token, 'vm1', 8080, 'endpoint')),
    'OK',
  );
  assert.equal(
    code(() => tokens.verify(rotated, 'vm1', 8080, 'endpoint')),
    'OK',
  );
  assert.equal(second.current().id, first.current().id);

  await writeFile(file, '{"version":1,"keys":[{"id":"x"}]}');
  await assert.rejects(KeyRing.open({ store: new FileTokenKeyStore(file) }), (e) => isCubbyError(e, 'TOKEN_KEYS_CORRUPT'));
});
