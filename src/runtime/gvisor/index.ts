export { GvisorRuntime, newSandboxId, type GvisorRuntimeOptions } from './runtime.js';
