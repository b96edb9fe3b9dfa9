/** What the daemon hands the console: core services, the store's tenant and key records, host facts. */
import type { CoreServices } from '../../core/services.js';
import type { Store } from '../../core/ports/store.js';
import type { ConsoleSessions } from './sessions.js';
import type { ConsoleEvents } from './events.js';
import type { HostStatus } from './host-status.js';
import type { ValidatorPort } from './validations.js';

export type { HostStatus };

export interface ConsoleOptions {
  core: CoreServices;
  store: Pick<Store, 'getKeyForAuth' | 'getE2bKeyForAuth' | 'listTenants' | 'getTenant' | 'createKey' | 'listKeys' | 'revokeKey'>;
  sessions: ConsoleSessions;
  events: ConsoleEvents;
  endpointFor(id: string): string;
  /** True once for a valid, unexpired link from `./cubby console-login` (then it is spent). */
  consumeOperatorLogin(token: string): Promise<boolean>;
  host(): Promise<HostStatus>;
  artifactsDir: string;
  maxArtifactBytes: number;
  /** Served over TLS: cookies get Secure. */
  secure: boolean;
  /** Runs `cubby validate` for a tenant (src/validate/background.ts); absent: the console cannot. */
  validator?: ValidatorPort;
  /** Where the built front end lives (default: dist/console next to this build). */
  assetsDir?: string;
}
