import type { Tenant } from '../../../core/model.js';
import type { SessionContext } from '../../../core/services.js';

/** Finds the secret and owner of an access key; undefined for an unknown or revoked key. */
export type LookupKey = (accessKeyId: string) => Promise<{ secretAccessKey: string; tenant: Tenant } | undefined>;

/**
 * Checks a microVM's session credential (access key id and X-Amz-Security-Token): its secret,
 * tenant and scope, or a CubbyError (AUTH_SESSION_INVALID, AUTH_SESSION_EXPIRED).
 */
export type LookupSession = (
  accessKeyId: string,
  token: string,
) => Promise<{ secretAccessKey: string; tenant: Tenant; session: SessionContext }>;

/** A request as received, in the parts Signature Version 4 covers. */
export interface ReceivedRequest {
  method: string;
  /** The path exactly as sent (still percent-encoded), without the query. */
  rawPath: string;
  /** Decoded query parameters; a repeated key gives an array. */
  query: Record<string, string | string[]>;
  /** Node's lower-cased headers. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | undefined;
  /**
   * The route reads the body itself after authentication (a large upload): the signed
   * x-amz-content-sha256 stands for the body here, and the route must check the bytes against it.
   */
  streamedBody?: boolean;
}
