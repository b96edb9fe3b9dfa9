/** Cubby microVMs as E2B's Sandbox, SandboxDetail and ListedSandbox shapes. */
import type { Microvm } from '../../core/model.js';
import type { Caller, CoreServices } from '../../core/services.js';
import { isCubbyError } from '../../errors/index.js';
import { CLIENT_ID, ENVD_VERSION } from './options.js';
import { E2B_TOKEN_AAD, type E2bFacts } from './sandbox-access.js';

export type E2bState = 'running' | 'paused';

/** A live microVM's E2B state; undefined once it is TERMINATING or TERMINATED (gone for E2B). */
export function e2bStateOf(m: Microvm): E2bState | undefined {
  switch (m.state) {
    case 'PENDING':
    case 'RUNNING':
      return 'running';
    case 'SUSPENDING':
    case 'SUSPENDED':
      return 'paused';
    default:
      return undefined;
  }
}

export function endAtOf(m: Microvm): Date {
  return new Date(m.startedAt.getTime() + m.maximumDurationSeconds * 1000);
}

/** What create and connect answer. */
export function sandboxWire(
  m: Microvm,
  f: E2bFacts,
  domain: string,
  open: (sealed: string, aad: string) => string,
): Record<string, unknown> {
  return {
    sandboxID: m.id,
    templateID: f.templateID,
    ...(f.alias !== undefined ? { alias: f.alias } : {}),
    clientID: CLIENT_ID,
    envdVersion: ENVD_VERSION,
    envdAccessToken: open(f.envdAccessTokenSealed, E2B_TOKEN_AAD),
    ...(f.trafficAccessTokenSealed !== undefined ? { trafficAccessToken: open(f.trafficAccessTokenSealed, E2B_TOKEN_AAD) } : {}),
    domain,
  };
}

export interface Sizes {
  cpuCount: number;
  memoryMB: number;
  diskSizeMB: number;
}

/** Baseline sizes of image versions, read once per request. */
export class SizeCache {
  private readonly known = new Map<string, Promise<Sizes>>();
  constructor(
    private readonly core: CoreServices,
    private readonly caller: Caller,
  ) {}

  of(m: Microvm, f: E2bFacts): Promise<Sizes> {
    const key = `${f.imageName}\0${m.imageVersion}`;
    let s = this.known.get(key);
    if (!s) {
      s = this.core.images.getVersion(this.caller, f.imageName, m.imageVersion).then(
        (v) => ({ cpuCount: v.settings.vcpus, memoryMB: v.settings.memoryMiB, diskSizeMB: 0 }),
        (e: unknown) => {
          // The image may be gone while the sandbox lives on: sizes unknown, not an error.
          if (isCubbyError(e) && e.kind === 'not_found') return { cpuCount: 0, memoryMB: 0, diskSizeMB: 0 };
          throw e;
        },
      );
      this.known.set(key, s);
    }
    return s;
  }
}

/** ListedSandbox: the detail without tokens, network and lifecycle. */
export function listedWire(m: Microvm, f: E2bFacts, sizes: Sizes, state: E2bState): Record<string, unknown> {
  return {
    sandboxID: m.id,
    templateID: f.templateID,
    ...(f.alias !== undefined ? { alias: f.alias } : {}),
    clientID: CLIENT_ID,
    cpuCount: sizes.cpuCount,
    memoryMB: sizes.memoryMB,
    diskSizeMB: sizes.diskSizeMB,
    envdVersion: ENVD_VERSION,
    metadata: f.metadata,
    startedAt: m.startedAt.toISOString(),
    endAt: endAtOf(m).toISOString(),
    state,
  };
}

export function detailWire(
  m: Microvm,
  f: E2bFacts,
  sizes: Sizes,
  state: E2bState,
  domain: string,
  open: (sealed: string, aad: string) => string,
): Record<string, unknown> {
  return {
    ...listedWire(m, f, sizes, state),
    envdAccessToken: open(f.envdAccessTokenSealed, E2B_TOKEN_AAD),
    domain,
    ...(f.allowInternetAccess !== undefined ? { allowInternetAccess: f.allowInternetAccess } : {}),
    network: { allowPublicTraffic: f.allowPublicTraffic },
    lifecycle: { onTimeout: f.lifecycle.onTimeout, autoResume: f.lifecycle.autoResume },
    volumeMounts: [],
  };
}
