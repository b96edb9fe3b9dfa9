/** The token port: the endpoint gateway's token issuer, as the core sees it. */
import type { PortRange } from './network.js';

export interface TokenIssuer {
  mint(req: {
    microvmId: string;
    tenantId: string;
    ports: PortRange[] | 'all';
    minutes: number;
    kind: 'endpoint' | 'shell';
  }): Promise<{ token: string; expiresAt: Date }>;
}
