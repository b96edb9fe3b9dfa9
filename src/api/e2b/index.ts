export { registerE2bApi } from './server.js';
export { e2bAccessOf, e2bFactsOf, E2B_TOKEN_AAD, type E2bAccess, type E2bFacts } from './sandbox-access.js';
export { ensureBaseTemplate, resolveTemplate, BASE_TEMPLATE } from './templates.js';
export { ENVD_VERSION, type E2bApiOptions } from './options.js';
