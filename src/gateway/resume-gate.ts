/**
 * Turns a resolved target into an address to forward to, resuming a suspended microVM when its
 * idle policy allows and thawing a RUNNING one frozen while idle. Concurrent requests share one
 * ensureRunning call per microVM.
 */
import { CubbyError, isCubbyError } from '../errors/index.js';
import type { GatewayTargets, TargetInfo } from './targets.js';

export class ResumeGate {
  private readonly inflight = new Map<string, Promise<{ address: string }>>();

  constructor(
    private readonly targets: GatewayTargets,
    private readonly timeoutMs: number,
  ) {}

  /** `waited` tells whether the request was held for a resume (its old connections are dead). */
  async ready(microvmId: string, info: TargetInfo): Promise<{ address: string; waited: boolean }> {
    switch (info.state) {
      case 'RUNNING':
        // Frozen in memory while idle: thawed first (milliseconds), through the same shared call.
        if (this.targets.frozen?.(microvmId)) return { ...(await this.ensureRunning(microvmId)), waited: true };
        return { address: info.address, waited: false };
      case 'SUSPENDED':
      case 'SUSPENDING':
        if (!info.autoResume) {
          throw new CubbyError(
            'GATEWAY_TARGET_SUSPENDED',
            `microVM ${microvmId} is suspended and its idle policy does not auto-resume; call ResumeMicrovm first`,
          );
        }
        return { ...(await this.ensureRunning(microvmId)), waited: true };
      case 'PENDING':
        return { ...(await this.ensureRunning(microvmId)), waited: true };
      default:
        throw new CubbyError('MICROVM_NOT_FOUND', `microVM ${microvmId} is ${info.state.toLowerCase()}`);
    }
  }

  private async ensureRunning(microvmId: string): Promise<{ address: string }> {
    let shared = this.inflight.get(microvmId);
    if (!shared) {
      shared = this.targets.ensureRunning(microvmId);
      this.inflight.set(microvmId, shared);
      const forget = () => {
        if (this.inflight.get(microvmId) === shared) this.inflight.delete(microvmId);
      };
      shared.then(forget, forget);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`resume took longer than ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([shared, timeout]);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new CubbyError('MICROVM_RESUME_FAILED', `microVM ${microvmId} could not be resumed: ${reason}`, {
        details: { reason, ...(isCubbyError(e) ? { cause: e.code } : {}) },
        cause: e,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}
