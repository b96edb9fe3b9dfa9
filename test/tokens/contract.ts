/**
 * The token port's contract (src/core/ports/tokens.ts), run by every implementation: a minted
 * token is opaque and unique, expires when asked, and a bad request is refused, not minted.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TokenIssuer } from '../../src/core/ports/tokens.js';

export function runTokensContract(name: string, make: () => Promise<TokenIssuer>): void {
  describe(`token port contract: ${name}`, () => {
    const req = { microvmId: 'abc123', tenantId: 't1', ports: 'all' as const, minutes: 15, kind: 'endpoint' as const };

    test('mint: a non-empty token that differs each time, expiring after the minutes asked', async () => {
      const issuer = await make();
      const before = Date.now();
      const a = await issuer.mint(req);
      const b = await issuer.mint({ ...req, ports: [{ from: 8080, to: 8080 }], kind: 'shell' });
      assert.ok(a.token.length >= 16 && typeof a.token === 'string');
      assert.notEqual(a.token, b.token);
      assert.ok(!a.token.includes(req.tenantId + ':'), 'the token does not spell out its claims in clear');
      const ms = a.expiresAt.getTime() - before;
      assert.ok(ms > 14 * 60_000 && ms <= 15 * 60_000 + 1000, `expires in ~15 minutes, got ${ms} ms`);
    });

    test('tokens for different microVMs differ', async () => {
      const issuer = await make();
      const a = await issuer.mint(req);
      const b = await issuer.mint({ ...req, microvmId: 'def456' });
      assert.notEqual(a.token, b.token);
    });
  });
}
