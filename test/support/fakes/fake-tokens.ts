/** The token port: mints opaque tokens and remembers them (test-only). */
import { randomBytes } from 'node:crypto';
import type { TokenIssuer } from '../../../src/core/ports/tokens.js';
import { Faults } from './faults.js';

export class FakeTokens implements TokenIssuer {
  readonly faults = new Faults();
  readonly minted: Array<Parameters<TokenIssuer['mint']>[0] & { token: string }> = [];

  mint(req: Parameters<TokenIssuer['mint']>[0]): Promise<{ token: string; expiresAt: Date }> {
    return this.faults.run('mint', req, () => {
      const token = `cbt_${randomBytes(16).toString('hex')}`;
      this.minted.push({ ...req, token });
      return { token, expiresAt: new Date(Date.now() + req.minutes * 60_000) };
    });
  }
}
