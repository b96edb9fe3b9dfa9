/**
 * The E2B facts of a sandbox, kept by the core verbatim in its microVM's `extra.e2b` (see the
 * design note): template, metadata, lifecycle, and the access tokens sealed with the store's
 * master key. e2bAccessOf is what the daemon's gateway wiring reads to check the data plane's
 * tokens; it never throws on a microVM made by another front door (it answers undefined).
 */
import { randomBytes } from 'node:crypto';

/** Authenticated data the sandbox tokens are sealed with (SecretBox): they open for nothing else. */
export const E2B_TOKEN_AAD = 'cubby-e2b-sandbox-token';

export interface E2bLifecycle {
  onTimeout: 'kill' | 'pause';
  autoResume: boolean;
}

export interface E2bFacts {
  /** What the caller named: an image name or id, or `base`. */
  templateID: string;
  /** The Cubby image the template resolved to (its name). */
  imageName: string;
  alias?: string;
  metadata: Record<string, string>;
  envdAccessTokenSealed: string;
  trafficAccessTokenSealed?: string;
  allowPublicTraffic: boolean;
  /** As asked at create (absent: the template's egress policy applies). */
  allowInternetAccess?: boolean;
  lifecycle: E2bLifecycle;
}

export interface E2bAccess {
  envdAccessToken: string;
  trafficAccessToken?: string;
  allowPublicTraffic: boolean;
}

/** A fresh bearer token for one sandbox (256 random bits). */
export function newSandboxToken(): string {
  return randomBytes(32).toString('base64url');
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** The E2B facts of a microVM's extra, or undefined when it was not made through E2B. */
export function e2bFactsOf(extra: Record<string, unknown>): E2bFacts | undefined {
  const e = extra.e2b;
  if (!e || typeof e !== 'object' || Array.isArray(e)) return undefined;
  const f = e as Partial<E2bFacts>;
  if (!isString(f.templateID) || !isString(f.envdAccessTokenSealed) || typeof f.allowPublicTraffic !== 'boolean') return undefined;
  return {
    templateID: f.templateID,
    imageName: isString(f.imageName) ? f.imageName : f.templateID,
    ...(isString(f.alias) ? { alias: f.alias } : {}),
    metadata: f.metadata && typeof f.metadata === 'object' ? f.metadata : {},
    envdAccessTokenSealed: f.envdAccessTokenSealed,
    ...(isString(f.trafficAccessTokenSealed) ? { trafficAccessTokenSealed: f.trafficAccessTokenSealed } : {}),
    allowPublicTraffic: f.allowPublicTraffic,
    ...(typeof f.allowInternetAccess === 'boolean' ? { allowInternetAccess: f.allowInternetAccess } : {}),
    lifecycle: {
      onTimeout: f.lifecycle?.onTimeout === 'pause' ? 'pause' : 'kill',
      autoResume: f.lifecycle?.autoResume === true,
    },
  };
}

/** The sandbox's tokens in clear, for the gateway; `unseal` opens a sealed token (aad E2B_TOKEN_AAD). */
export function e2bAccessOf(extra: Record<string, unknown>, unseal: (s: string) => string): E2bAccess | undefined {
  const f = e2bFactsOf(extra);
  if (!f) return undefined;
  return {
    envdAccessToken: unseal(f.envdAccessTokenSealed),
    ...(f.trafficAccessTokenSealed !== undefined ? { trafficAccessToken: unseal(f.trafficAccessTokenSealed) } : {}),
    allowPublicTraffic: f.allowPublicTraffic,
  };
}
