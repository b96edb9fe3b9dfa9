/** The gateway's view of microVMs, served by the core (store + lifecycle manager + runtime). */
import type { GatewayTargets, ShellProcess, TargetInfo } from '../gateway/index.js';
import type { Store } from '../core/ports/store.js';
import type { SandboxRuntime } from '../core/ports/runtime.js';
import type { MicrovmManager } from '../core/microvms/manager.js';
import { CubbyError } from '../errors/index.js';
import { E2B_TOKEN_AAD, e2bAccessOf } from '../api/e2b/sandbox-access.js';

export class CoreGatewayTargets implements GatewayTargets {
  /** Sandbox addresses, cached (the store says whether the microVM runs; this only maps id to address). */
  private readonly addresses = new Map<string, string>();

  constructor(private readonly d: { store: Store; runtime: SandboxRuntime; manager: MicrovmManager }) {}

  forget(id: string): void {
    this.addresses.delete(id);
  }

  private async address(id: string): Promise<string> {
    const known = this.addresses.get(id);
    if (known) return known;
    const address = await this.d.runtime.address(id);
    if (!address) return '';
    this.addresses.set(id, address);
    return address;
  }

  async resolve(id: string): Promise<TargetInfo | undefined> {
    const m = await this.d.store.getMicrovmAny(id);
    if (!m) return undefined;
    const e2b = e2bAccessOf(m.extra, (sealed) => this.d.store.openSecret(sealed, E2B_TOKEN_AAD));
    return {
      address: m.state === 'RUNNING' ? await this.address(id) : '',
      state: m.state,
      autoResume: Boolean(m.idlePolicy?.autoResumeEnabled),
      tenantId: m.tenantId,
      ...(e2b ? { e2b } : {}),
    };
  }

  async ensureRunning(id: string): Promise<{ address: string }> {
    // Frozen while idle: a thaw; the sandbox (and its cached address) is the same.
    if (await this.d.manager.thawIfFrozen(id)) {
      const address = await this.address(id);
      if (address) return { address };
    }
    this.forget(id);
    await this.d.manager.ensureRunning(id);
    const address = await this.address(id);
    if (!address) throw new CubbyError('MICROVM_RESUME_FAILED', `microVM ${id} has no running sandbox`);
    return { address };
  }

  frozen(id: string): boolean {
    return this.d.manager.tiers.isFrozen(id);
  }

  activity(id: string, kind: 'request-start' | 'request-end' | 'ws-open' | 'ws-close'): void {
    this.d.manager.activity.record(id, kind);
  }

  async openShell(id: string, size: { cols: number; rows: number }): Promise<ShellProcess> {
    return this.d.runtime.exec(id, {
      args: ['/bin/sh', '-c', 'if [ -x /bin/bash ]; then exec /bin/bash -l; else exec /bin/sh -l; fi'],
      env: { TERM: 'xterm-256color', HOME: '/root' },
      cwd: '/root',
      tty: size,
    });
  }
}
