/** Cubby's Lambda MicroVMs front door (API version 2025-09-09). */
export { createLambdaApi, publicRoute } from './server.js';
export { DEFAULT_BODY_LIMIT, DEFAULT_MAX_ARTIFACT_BYTES, DEFAULT_REGION, type LambdaApiOptions } from './options.js';
export { ARTIFACT_URI_SCHEME } from './artifact-store.js';
export type { LookupKey } from './auth/types.js';
export { LambdaArns, MANAGED_ACCOUNT } from './arn.js';
export { AUTH_TOKEN_HEADER } from './routes/tokens.js';
export { wireErrorFor, type WireError } from './errors.js';
export { connectorsToEgress, egressToConnectors } from './mapping/egress.js';
