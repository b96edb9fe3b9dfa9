import type { FastifyBaseLogger } from 'fastify';
import type { CoreServices } from '../../core/services.js';
import type { LookupKey, LookupSession } from './auth/types.js';
import type { AddressPolicy } from '../../util/address-policy.js';

export interface LambdaApiOptions {
  core: CoreServices;
  /** Finds an access key's secret and tenant (the store provides it). */
  lookupKey: LookupKey;
  /** Checks a microVM's session credential (X-Amz-Security-Token); absent: session credentials are refused. */
  lookupSession?: LookupSession;
  /** Region in every ARN this API issues and accepts; default `local`. */
  region?: string;
  /** The URL of a microVM's endpoint, e.g. `http://<id>.<domain>:<gatewayPort>`. */
  endpointFor(microvmId: string): string;
  /** Largest request body in bytes; default 1 MiB. A larger one is a ValidationException. */
  bodyLimit?: number;
  /** Serve HTTPS, HTTP/2 by ALPN beside HTTP/1.1, with this certificate chain and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** A pino/Fastify logger, or true/false for Fastify's default logger on/off (default off). */
  logger?: FastifyBaseLogger | boolean;
  /** How many request signatures to remember against replay, per tenant; default 10 000. */
  replayCacheSize?: number;
  /** The clock signature dates are checked against (tests); default Date.now. */
  now?: () => number;
  /**
   * Where PUT /cubby/v1/artifacts stores uploads, as <artifactsDir>/<tenantId>/<id>.zip (the
   * daemon's <dataDir>/artifacts); without it that route does not exist.
   */
  artifactsDir?: string;
  /** Largest artifact upload in bytes; default 256 MiB. */
  maxArtifactBytes?: number;
  /** The operator's address policy for egress connectors; default: no private range allowed. */
  addresses?: AddressPolicy;
}

export const DEFAULT_REGION = 'local';
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export { DEFAULT_MAX_ARTIFACT_BYTES } from './artifact-store.js';
