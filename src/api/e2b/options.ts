/** What the host gives the E2B front door. */
import type { Tenant } from '../../core/model.js';
import type { Caller, CoreServices } from '../../core/services.js';

export interface E2bApiOptions {
  core: CoreServices;
  /** The tenant whose ACTIVE E2B API key this is, or undefined. */
  lookupApiKey(apiKey: string): Promise<Tenant | undefined>;
  /**
   * The sandbox domain the SDK builds `<port>-<id>.<domain>` from: the daemon's domain, with the
   * gateway's port unless that is the default one (sandbox-domain.ts).
   */
  domain: string;
  /** Seal / open a sandbox token with the store's master key (Store.sealSecret / openSecret). */
  sealSecret(plaintext: string, aad: string): string;
  openSecret(sealed: string, aad: string): string;
  /**
   * Resolves a managed template (`base`, `code-interpreter-v1`; default `base`) to one of the
   * tenant's image names, building it first if this host knows how; undefined when it is not
   * available. Default: templates.ts ensureBaseTemplate.
   */
  ensureBaseTemplate?: (caller: Caller, core: CoreServices, template?: string) => Promise<string | undefined>;
  now?: () => Date;
}

/** The envd version reported for every sandbox (the SDK gates features on it; see the protocol notes). */
export const ENVD_VERSION = '0.6.4';
/** E2B's default sandbox timeout, seconds. */
export const DEFAULT_TIMEOUT_SECONDS = 300;
/** E2B's longest sandbox timeout (24 h), seconds. */
export const MAX_TIMEOUT_SECONDS = 86_400;
/** E2B reports a client id per sandbox; Cubby has one kind of client. */
export const CLIENT_ID = 'cubby';
