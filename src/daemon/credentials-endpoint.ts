/** Wires the credentials endpoint (src/api/credentials) to the runtime (who has which address) and the core. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { SandboxRuntime } from '../core/ports/runtime.js';
import type { InstanceCredentials } from '../core/roles/delivery.js';
import { startCredentialsEndpoint, type CredentialsEndpoint } from '../api/credentials/server.js';

export interface LateCredentials {
  runtime?: SandboxRuntime;
  credentials?: InstanceCredentials;
}

/**
 * Started before the network (its port goes into the network's redirect); the rest arrives later.
 * The port is kept in `<dataDir>/credentials.port` and taken again after a restart, so sandboxes
 * that outlive the daemon (their redirect names that port) reach the next one.
 */
export async function openCredentialsEndpoint(
  dataDir: string,
  late: LateCredentials,
  log: { warn(obj: object, msg: string): void },
): Promise<CredentialsEndpoint> {
  const portFile = path.join(dataDir, 'credentials.port');
  const previous = Number((await fs.readFile(portFile, 'utf8').catch(() => '')).trim());
  const known = new Map<string, string>();
  const microvmAt = async (address: string): Promise<string | undefined> => {
    const runtime = late.runtime;
    if (!runtime || address === '') return undefined;
    // A cached id is trusted only while its sandbox still has this address (slots are reused).
    const cached = known.get(address);
    if (cached !== undefined && (await runtime.address(cached)) === address) return cached;
    known.clear();
    for (const s of await runtime.list()) if (s.state === 'running') known.set(s.address, s.id);
    return known.get(address);
  };
  const deps = { microvmAt, credentials: () => late.credentials, log };
  const endpoint =
    Number.isInteger(previous) && previous > 0 && previous < 65536
      ? await startCredentialsEndpoint(deps, previous).catch(() => startCredentialsEndpoint(deps))
      : await startCredentialsEndpoint(deps);
  await fs.writeFile(portFile, `${endpoint.port}\n`);
  return endpoint;
}
