/**
 * The network contract, in two parts every NetworkPort driver's test file runs:
 * - semantic (contract-semantic.ts): allocation, policies, ownership, adopt, sweep, exhaustion; the fake passes it too;
 * - isolation (contract-isolation.ts): the policy as packets see it; real drivers only.
 */
export { runNetworkSemanticContract, type NetworkSemanticFixture } from './contract-semantic.js';
export { runNetworkIsolationContract, type NetworkIsolationFixture, type ProbeTarget } from './contract-isolation.js';
