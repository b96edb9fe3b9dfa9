/** A process that creates one sandbox, says its id, then waits to be killed with SIGKILL. */
import { GvisorRuntime, newSandboxId } from '../../../src/runtime/gvisor/index.js';
import { createLinuxNetwork } from '../../../src/network/linux/index.js';

const [stateDir, specJson] = process.argv.slice(2);
const runtime = new GvisorRuntime({ stateDir: stateDir ?? '', network: await createLinuxNetwork() });
const s = await runtime.create({ ...JSON.parse(specJson ?? '{}'), id: newSandboxId() });
process.stdout.write(`created ${s.id}\n`);
setInterval(() => undefined, 1 << 30);
