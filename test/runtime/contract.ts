/**
 * The runtime contract, in two parts every SandboxRuntime driver's test file runs:
 * - semantic (contract-semantic.ts): lifecycle semantics; the fake runtime passes it too;
 * - isolation (contract-isolation.ts): processes, memory, limits, network, no host leaks; real drivers only.
 */
export { runRuntimeSemanticContract, type RuntimeSemanticFixture } from './contract-semantic.js';
export { runRuntimeIsolationContract, type RuntimeFixture } from './contract-isolation.js';
