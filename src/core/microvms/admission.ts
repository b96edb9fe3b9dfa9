/**
 * Admission of new use (a launch, a resume, a suspend): the host cap and the tenant's quotas are
 * checked in one step, one at a time for the whole host, with the record that makes the new use
 * visible, so two requests cannot both take the last slot (see QuotaService.admit).
 */
import type { Store } from '../ports/store.js';
import type { QuotaService } from '../quotas/service.js';
import { CubbyError } from '../../errors/index.js';
import { KeyedMutex } from '../../util/keyed-mutex.js';
import { HAS_SANDBOX } from './state-machine.js';

export interface AdmissionDeps {
  store: Store;
  /** Most microVMs holding a sandbox at once on this host. */
  maxActive: number;
  /** Per-tenant quotas; absent: only the host-wide maxActive applies. */
  quotas?: QuotaService | undefined;
}

export class Admission {
  private readonly alone = new KeyedMutex();

  constructor(private readonly d: AdmissionDeps) {}

  get quotas(): QuotaService | undefined {
    return this.d.quotas;
  }

  /** Runs fn alone among admissions. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.d.quotas ? this.d.quotas.admit(fn) : this.alone.run('admission', fn);
  }

  /** The host-wide cap on microVMs holding a sandbox: the host is full, whoever asks. */
  async checkHostCapacity(): Promise<void> {
    const active = await this.d.store.countMicrovms({ states: HAS_SANDBOX });
    if (active >= this.d.maxActive) {
      throw new CubbyError(
        'HOST_CAPACITY',
        `insufficient capacity: this host runs its maximum of ${this.d.maxActive} active microVMs (${active} now); retry later`,
        { details: { limit: this.d.maxActive, used: active, retryAfterSeconds: 5 } },
      );
    }
  }
}
