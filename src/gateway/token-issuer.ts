/** The core's token port (TokenIssuer) served by the gateway's own token service. */
import type { TokenIssuer } from '../core/ports/tokens.js';
import type { TokenService } from './tokens.js';

export function tokenIssuer(tokens: TokenService): TokenIssuer {
  return { mint: async (r) => tokens.mint(r.microvmId, r.tenantId, r.ports, r.minutes, r.kind) };
}
