/**
 * Usage metering for one tenant: what each microVM ran and slept, its baseline size, the
 * snapshot it keeps on disk, and a cost estimate; plus live runtime stats of a RUNNING one.
 * Reads the store and the disk only; nothing here changes a microVM.
 */
import type { Microvm } from '../model.js';
import type { Caller, UsageService } from '../services.js';
import type { Store } from '../ports/store.js';
import type { SandboxRuntime } from '../ports/runtime.js';
import type { DiskPort } from '../ports/disk.js';
import type { QuotaService } from '../quotas/service.js';
import { CubbyError, errors } from '../../errors/index.js';
import { checkpointOf } from '../microvms/checkpoints.js';
import { meteredSeconds, overlapsWindow } from './accounting.js';
import { ZERO_COST, addCosts, costOf } from './cost.js';
import { DEFAULT_PRICES, GIB, SECONDS_PER_MONTH, withPrices } from './prices.js';
import type { MicrovmStats, MicrovmUsage, UsagePrices, UsageQuery, UsageReport, UsageTotals } from './types.js';

export interface UsageDeps {
  store: Store;
  runtime: SandboxRuntime;
  disk: DiskPort;
  /** Where suspend checkpoints live: <root>/<id>/current (see MicrovmManager). */
  checkpointRoot: string;
  prices?: Partial<UsagePrices>;
  now?: () => Date;
  /** Adds each quota's limit and use to the report. */
  quotas?: QuotaService;
}

interface VersionInfo {
  image: string;
  memoryMiB: number;
  vcpus: number;
  buildSnapshotBytes: number;
}

export class UsageServiceImpl implements UsageService {
  readonly prices: UsagePrices;
  private readonly now: () => Date;

  constructor(private readonly d: UsageDeps) {
    this.prices = withPrices(d.prices ?? {}, DEFAULT_PRICES);
    this.now = d.now ?? (() => new Date());
  }

  async report(caller: Caller, q: UsageQuery = {}): Promise<UsageReport> {
    const now = this.now();
    if (q.from && q.to && q.from > q.to) throw new CubbyError('CUBBY_VALIDATION', 'usage: from is after to');
    const prices = withPrices(q.prices ?? {}, this.prices);
    const tenantId = caller.tenant.id;
    const versions = new Map<string, Promise<VersionInfo>>();
    const info = (m: Microvm) => {
      const key = `${m.imageId}/${m.imageVersion}`;
      let p = versions.get(key);
      if (!p) versions.set(key, (p = this.versionInfo(tenantId, m)));
      return p;
    };
    const microvms: MicrovmUsage[] = [];
    for (const m of await this.allMicrovms(tenantId)) {
      if (!overlapsWindow(m, now, q)) continue;
      const v = await info(m);
      const t = meteredSeconds(m, now, q);
      const snapshotBytes = m.state === 'SUSPENDED' ? await this.d.disk.size(checkpointOf(this.d.disk, this.d.checkpointRoot, m)) : 0;
      const billedSnapshotBytes = snapshotBytes || v.buildSnapshotBytes;
      microvms.push({
        id: m.id,
        image: v.image,
        version: m.imageVersion,
        state: m.state,
        startedAt: m.startedAt,
        ...(m.terminatedAt ? { terminatedAt: m.terminatedAt } : {}),
        runningSeconds: t.runningSeconds,
        suspendedSeconds: t.suspendedSeconds,
        memoryMiB: v.memoryMiB,
        vcpus: v.vcpus,
        snapshotBytes,
        billedSnapshotBytes,
        prorated: t.prorated,
        cost: costOf(t, { vcpus: v.vcpus, memoryMiB: v.memoryMiB, snapshotBytes: billedSnapshotBytes }, prices),
      });
    }
    return {
      tenantId,
      generatedAt: now,
      ...(q.from ? { from: q.from } : {}),
      to: q.to && q.to < now ? q.to : now,
      prices,
      microvms,
      totals: totalsOf(microvms),
      ...(this.d.quotas ? { quotas: await this.d.quotas.status(tenantId) } : {}),
    };
  }

  async stats(caller: Caller, id: string): Promise<MicrovmStats> {
    const m = await this.d.store.getMicrovm(caller.tenant.id, id);
    if (!m) throw errors.microvmNotFound(id);
    if (m.state !== 'RUNNING') throw errors.microvmNotRunning(id, m.state, 'stats');
    const s = await this.d.runtime.stats(id);
    const v = await this.versionInfo(caller.tenant.id, m);
    return {
      microvmId: id,
      state: m.state,
      sampledAt: this.now(),
      memoryBytes: s.memoryBytes,
      cpuSeconds: s.cpuSeconds,
      memoryMiB: v.memoryMiB,
      vcpus: v.vcpus,
      ...(s.diskUsedBytes !== undefined ? { diskUsedBytes: s.diskUsedBytes } : {}),
      ...(s.diskTotalBytes !== undefined ? { diskTotalBytes: s.diskTotalBytes } : {}),
    };
  }

  private async allMicrovms(tenantId: string): Promise<Microvm[]> {
    const all: Microvm[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.d.store.listMicrovms(tenantId, { maxResults: 100, ...(nextToken ? { nextToken } : {}) });
      all.push(...page.items);
      nextToken = page.nextToken;
    } while (nextToken);
    return all;
  }

  /** Name and baseline of the microVM's image version; zeros when the version is gone. */
  private async versionInfo(tenantId: string, m: Microvm): Promise<VersionInfo> {
    const image = await this.d.store.getImage(tenantId, m.imageId);
    const name = image?.name ?? (typeof m.extra.imageName === 'string' ? m.extra.imageName : m.imageId);
    const v = image ? await this.d.store.getVersion(tenantId, image.id, m.imageVersion) : undefined;
    if (!v) return { image: name, memoryMiB: 0, vcpus: 0, buildSnapshotBytes: 0 };
    let buildSnapshotBytes = 0;
    const builds = await this.d.store.listBuilds(tenantId, m.imageId, m.imageVersion, { maxResults: 100 });
    for (const b of builds.items) {
      if (b.state === 'SUCCESSFUL') buildSnapshotBytes = (b.memorySnapshotBytes ?? 0) + (b.diskSnapshotBytes ?? 0);
    }
    return { image: name, memoryMiB: v.settings.memoryMiB, vcpus: v.settings.vcpus, buildSnapshotBytes };
  }
}

export function totalsOf(microvms: readonly MicrovmUsage[]): UsageTotals {
  const t: UsageTotals = {
    microvms: microvms.length,
    running: 0,
    suspended: 0,
    runningSeconds: 0,
    suspendedSeconds: 0,
    vcpuSeconds: 0,
    gibSeconds: 0,
    snapshotBytes: 0,
    snapshotGibMonths: 0,
    cost: { ...ZERO_COST },
  };
  for (const m of microvms) {
    if (m.state === 'RUNNING') t.running++;
    if (m.state === 'SUSPENDED') t.suspended++;
    t.runningSeconds += m.runningSeconds;
    t.suspendedSeconds += m.suspendedSeconds;
    t.vcpuSeconds += m.runningSeconds * m.vcpus;
    t.gibSeconds += m.runningSeconds * (m.memoryMiB / 1024);
    t.snapshotBytes += m.snapshotBytes;
    t.snapshotGibMonths += (m.billedSnapshotBytes / GIB) * (m.suspendedSeconds / SECONDS_PER_MONTH);
    t.cost = addCosts(t.cost, m.cost);
  }
  return t;
}
