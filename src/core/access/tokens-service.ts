/** Endpoint and shell tokens: minted only for the caller's own live microVMs. */
import type { Caller, TokensService } from '../services.js';
import type { Store } from '../ports/store.js';
import type { TokenIssuer } from '../ports/tokens.js';
import type { PortRange } from '../ports/network.js';
import { CubbyError, errors } from '../../errors/index.js';

export class TokensServiceImpl implements TokensService {
  constructor(
    private readonly store: Store,
    private readonly issuer: TokenIssuer,
  ) {}

  private async live(caller: Caller, id: string): Promise<void> {
    const m = await this.store.getMicrovm(caller.tenant.id, id);
    if (!m) throw errors.microvmNotFound(id);
    if (m.state === 'TERMINATED' || m.state === 'TERMINATING') throw new CubbyError('MICROVM_BAD_STATE', `microVM ${id} is ${m.state}`);
  }

  async createAuthToken(
    caller: Caller,
    id: string,
    minutes: number,
    ports: PortRange[] | 'all',
  ): Promise<{ token: string; expiresAt: Date }> {
    await this.live(caller, id);
    return this.issuer.mint({ microvmId: id, tenantId: caller.tenant.id, ports, minutes, kind: 'endpoint' });
  }

  async createShellToken(caller: Caller, id: string, minutes: number): Promise<{ token: string; expiresAt: Date }> {
    await this.live(caller, id);
    return this.issuer.mint({ microvmId: id, tenantId: caller.tenant.id, ports: 'all', minutes, kind: 'shell' });
  }
}
