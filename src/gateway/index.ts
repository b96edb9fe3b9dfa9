/** The endpoint gateway's public surface: the daemon wires it to the core through targets.ts. */
export { createGateway, type Gateway, type GatewayOptions } from './gateway.js';
export type { GatewayTargets, TargetInfo, MicrovmState, ActivityKind, ShellProcess } from './targets.js';
export { TokenService, openTokenService, type TokenVerifier, type TokenClaims, type TokenKind, type AllowedPorts } from './tokens.js';
export { KeyRing, MAX_TOKEN_LIFETIME_MS, type KeyRingOptions } from './key-ring.js';
export { FileTokenKeyStore, MemoryTokenKeyStore, type TokenKey, type TokenKeyStore } from './token-key-store.js';
export { lambdaTokenAuthenticator, type Authenticator, type AuthRequest, type AuthVerdict } from './auth.js';
export { promGatewayMetrics, noMetrics, type GatewayMetrics, type ExchangeKind } from './metrics.js';
export type { Route, RouteForm } from './route.js';
export { SHELL_PATH } from './shell.js';
