/**
 * Execution roles and secrets (issue 16). A tenant's secrets are write-only named values, kept
 * sealed with the store's master key and versioned (each set is the next version). A role says
 * which secrets a microVM (or a build) may read and what the microVM may do through Cubby's own
 * API with the short-lived session credentials it fetches from its credentials endpoint.
 */

/** What a role's session credentials may do through the API (none: an empty list). */
export const ROLE_PERMISSIONS = ['self', 'launch'] as const;
export type RolePermission = (typeof ROLE_PERMISSIONS)[number];

/** `launch`: child microVMs of these images, at most `maxChildren` not TERMINATED at once. */
export interface LaunchGrant {
  images: string[];
  maxChildren: number;
}

export interface Role {
  tenantId: string;
  name: string;
  /** Names of the tenant's secrets the microVM may read (each existed when the role was made). */
  secrets: string[];
  permissions: RolePermission[];
  /** Present exactly when permissions has 'launch'. */
  launch?: LaunchGrant;
  createdAt: Date;
}

/** A secret as listed: never its value. */
export interface SecretInfo {
  tenantId: string;
  name: string;
  /** 1 on the first set, +1 on each rotation. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export const SECRET_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
export const ROLE_NAME = /^[A-Za-z0-9+=,.@_-]{1,64}$/;
/** Values above this are refused (SECRET_TOO_LARGE): secrets are tokens and keys, not files. */
export const MAX_SECRET_BYTES = 64 * 1024;

/**
 * The credentials endpoint: a link-local address each sandbox reaches over its own veth (the
 * host redirects it to the daemon's listener, which knows the sandbox by its source address).
 * The AWS SDKs accept this address for AWS_CONTAINER_CREDENTIALS_FULL_URI (it is ECS's).
 */
export const CREDENTIALS_ADDRESS = '169.254.170.2';
export const CREDENTIALS_PORT = 80;
export const CREDENTIALS_PATH = '/cubby/v1/credentials';
export const SECRETS_PATH = '/cubby/v1/secrets/';
/** Where a build's RUN steps find the build role's secrets, one file per secret. */
export const BUILD_SECRETS_DIR = '/run/cubby/secrets';

/**
 * Baked into every image's app environment: the same static URI everywhere (no secret in it), so
 * it is right in every snapshot and every launch; what it answers is decided per microVM at
 * request time.
 */
export const CREDENTIALS_ENV: Readonly<Record<string, string>> = {
  AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://${CREDENTIALS_ADDRESS}${CREDENTIALS_PATH}`,
};
