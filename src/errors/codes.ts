/**
 * The one registry of Cubby's stable error codes. Codes never change meaning once released;
 * front doors map each kind onto their own wire errors (HTTP status, AWS exception name, E2B code).
 */
export type ErrorKind =
  | 'validation' // the caller sent something wrong
  | 'not_found' // the thing does not exist (or is not visible to this tenant)
  | 'conflict' // the thing exists but is in the wrong state
  | 'unauthorized' // no or bad credentials
  | 'forbidden' // credentials fine, action not allowed
  | 'throttled' // too many requests or sandboxes right now; retry later
  | 'quota' // a configured limit was reached
  | 'unavailable' // a dependency (runtime, network, disk) failed; may succeed on retry
  | 'internal'; // a bug

export const ERROR_CODES = {
  // generic
  CUBBY_VALIDATION: 'validation',
  CUBBY_INTERNAL: 'internal',
  CUBBY_TIMEOUT: 'unavailable',
  // runtime port
  RUNTIME_ROOTFS_MISSING: 'validation',
  RUNTIME_DUPLICATE_ID: 'conflict',
  RUNTIME_BAD_ID: 'validation',
  RUNTIME_NOT_FOUND: 'not_found',
  RUNTIME_BAD_STATE: 'conflict',
  RUNTIME_CHECKPOINT_MISSING: 'not_found',
  RUNTIME_CHECKPOINT_CORRUPT: 'validation',
  RUNTIME_CHECKPOINT_FAILED: 'unavailable',
  RUNTIME_RESTORE_FAILED: 'unavailable',
  RUNTIME_START_FAILED: 'unavailable',
  RUNTIME_EXEC_FAILED: 'unavailable',
  RUNTIME_COMMAND_FAILED: 'unavailable',
  RUNTIME_DISK_FULL: 'unavailable',
  // network port
  NETWORK_POOL_EXHAUSTED: 'quota',
  NETWORK_SETUP_FAILED: 'unavailable',
  NETWORK_BAD_POLICY: 'validation',
  NETWORK_TEARDOWN_FAILED: 'unavailable',
  // images
  IMAGE_NOT_FOUND: 'not_found',
  IMAGE_VERSION_NOT_FOUND: 'not_found',
  IMAGE_BUILD_NOT_FOUND: 'not_found',
  IMAGE_EXISTS: 'conflict',
  IMAGE_IN_USE: 'conflict',
  IMAGE_NOT_READY: 'conflict',
  IMAGE_DELETING: 'conflict', // the image is being deleted; nothing may be added to it
  IMAGE_BASE_NOT_FOUND: 'not_found',
  IMAGE_BASE_BUILD_FAILED: 'unavailable',
  ARTIFACT_INVALID: 'validation',
  ARTIFACT_TOO_LARGE: 'validation',
  ARTIFACT_UNSAFE_PATH: 'validation',
  ARTIFACT_FETCH_FAILED: 'validation',
  DOCKERFILE_MISSING: 'validation',
  DOCKERFILE_INVALID: 'validation',
  DOCKERFILE_FROM_MISMATCH: 'validation',
  BUILD_FAILED: 'unavailable',
  BUILD_HOST_DISK_LOW: 'unavailable',
  APP_NOT_READY: 'unavailable',
  VALIDATE_FAILED: 'unavailable',
  HOOK_FAILED: 'unavailable',
  // microVM lifecycle
  MICROVM_NOT_FOUND: 'not_found',
  MICROVM_BAD_STATE: 'conflict',
  MICROVM_RESUME_FAILED: 'unavailable',
  MICROVM_SUSPEND_FAILED: 'unavailable',
  MICROVM_LIMIT: 'throttled',
  // host capacity and per-tenant quotas (src/core/quotas)
  HOST_CAPACITY: 'throttled', // the host runs its maximum of active microVMs; retry later
  LAUNCH_THROTTLED: 'throttled', // too many launches queued (host or tenant); retry after the hint
  QUOTA_RUNNING_MICROVMS: 'quota',
  QUOTA_MEMORY: 'quota',
  QUOTA_SUSPENDED_MICROVMS: 'quota',
  QUOTA_CHECKPOINT_BYTES: 'quota',
  QUOTA_BUILDS: 'quota',
  QUOTA_ARTIFACTS: 'quota',
  // tenants, auth, tokens
  TENANT_NOT_FOUND: 'not_found',
  TENANT_EXISTS: 'conflict',
  KEY_NOT_FOUND: 'not_found',
  AUTH_MISSING: 'unauthorized',
  AUTH_BAD_SIGNATURE: 'unauthorized',
  AUTH_UNKNOWN_KEY: 'unauthorized',
  AUTH_EXPIRED: 'unauthorized',
  AUTH_REPLAYED: 'unauthorized',
  AUTH_MALFORMED: 'unauthorized',
  TOKEN_INVALID: 'unauthorized',
  TOKEN_EXPIRED: 'unauthorized',
  TOKEN_PORT_DENIED: 'forbidden',
  THROTTLED: 'throttled',
  TOKEN_KEYS_CORRUPT: 'internal',
  // front doors (HTTP APIs)
  API_UNKNOWN_OPERATION: 'not_found',
  API_BODY_TOO_LARGE: 'validation',
  API_UNSUPPORTED_MEDIA_TYPE: 'validation',
  METRICS_FORBIDDEN: 'forbidden', // /metrics asked from off the host without the metrics token
  // endpoint gateway
  GATEWAY_UNKNOWN_HOST: 'not_found',
  GATEWAY_BAD_PORT: 'validation',
  GATEWAY_TARGET_SUSPENDED: 'conflict',
  GATEWAY_UPSTREAM_UNREACHABLE: 'unavailable',
  GATEWAY_SHELL_FAILED: 'unavailable',
  GATEWAY_SANDBOX_NOT_FOUND: 'unavailable', // E2B: paused, killed, expired or unknown sandbox (502, E2B's body)
  // store
  STORE_CONFLICT: 'conflict',
  STORE_MIGRATION_FAILED: 'internal',
  STORE_BUSY: 'unavailable', // the database stayed locked past the busy timeout
  STORE_CLOSED: 'unavailable',
  STORE_MASTER_KEY_INVALID: 'internal', // master.key unreadable, malformed or too permissive
  STORE_SECRET_UNREADABLE: 'internal', // a stored secret does not decrypt with the master key
  IDEMPOTENCY_MISMATCH: 'conflict', // client token reused with a different request
  // execution roles and secrets (src/core/roles)
  SECRET_NOT_FOUND: 'not_found',
  SECRET_TOO_LARGE: 'validation',
  SECRET_INVALID: 'validation', // a malformed secret name or value
  SECRET_NOT_GRANTED: 'forbidden', // the microVM's role does not grant this secret
  ROLE_NOT_FOUND: 'not_found',
  ROLE_EXISTS: 'conflict',
  ROLE_INVALID: 'validation', // a malformed role, or one naming a secret the tenant does not have
  ROLE_UNKNOWN: 'validation', // executionRoleArn/buildRoleArn names no role of the caller's account
  ROLE_ACCESS_DENIED: 'forbidden', // a microVM's session credential used beyond its role
  ROLE_NO_CREDENTIALS: 'forbidden', // the credentials endpoint asked by a microVM without a role
  AUTH_SESSION_INVALID: 'unauthorized', // a session token that is forged, foreign or of a stopped microVM
  AUTH_SESSION_EXPIRED: 'unauthorized',
  // web console (src/api/console)
  CONSOLE_SIGNIN_FAILED: 'unauthorized', // wrong key pair, E2B key or sign-in link
  CONSOLE_NO_SESSION: 'unauthorized', // no cookie, or an expired or ended session
  CONSOLE_CROSS_SITE: 'forbidden', // a state change without the session's CSRF token or from another origin
  CONSOLE_OPERATOR_ONLY: 'forbidden',
  CONSOLE_VALIDATE_BUSY: 'conflict', // a validation of this tenant (or too many on the host) is running
  CONSOLE_VALIDATE_UNAVAILABLE: 'conflict', // the console cannot run the validator here (TLS listener, no active access key)
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function kindOf(code: ErrorCode): ErrorKind {
  return ERROR_CODES[code];
}
