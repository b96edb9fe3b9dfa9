/**
 * `cubby tenant quota show|set|reset NAME`: a tenant's quota overrides, written to the store
 * directly like `tenant create` (the daemon reads them at each admission, so they apply at once).
 * Limits shown use the built-in defaults or CUBBY_QUOTA_* from this shell; a daemon started with
 * other --quota-* flags applies those (its `cubby usage` and /metrics show the effective ones).
 */
import path from 'node:path';
import type { Command } from 'commander';
import type { Store } from '../../core/ports/store.js';
import type { Patch } from '../../core/ports/store.js';
import { QuotaService } from '../../core/quotas/service.js';
import { effectiveLimits, validateOverrides } from '../../core/quotas/check.js';
import { DEFAULT_QUOTAS, type QuotaOverrides, type QuotaStatus } from '../../core/quotas/types.js';
import { nodeDisk } from '../../adapters/node-disk.js';
import { diskArtifactUsage } from '../../adapters/artifact-usage.js';
import { DEFAULT_DATA_DIR } from '../../daemon/config.js';
import { quotaDefaults } from '../../daemon/quota-flags.js';
import { CubbyError } from '../../errors/index.js';
import { print, table } from '../output.js';
import { storeOptions, type StoreOpts } from './store-options.js';

type WithStore = <T>(o: StoreOpts, fn: (s: Store) => Promise<T>) => Promise<T>;

const MIB = 1024 * 1024;

/** CLI option -> [quota, multiplier] (sizes are given in MiB, stored in the quota's own unit). */
const SET_OPTIONS: Array<[string, string, keyof QuotaOverrides, number, string]> = [
  ['running', '--running <n>', 'running', 1, 'running microVMs (PENDING counts)'],
  ['memoryMib', '--memory-mib <n>', 'memoryMiB', 1, 'memory MiB of running microVMs'],
  ['suspended', '--suspended <n>', 'suspended', 1, 'suspended microVMs'],
  ['checkpointMib', '--checkpoint-mib <n>', 'checkpointBytes', MIB, 'MiB of suspend checkpoints on disk'],
  ['builds', '--builds <n>', 'builds', 1, 'image builds queued or running'],
  ['artifacts', '--artifacts <n>', 'artifacts', 1, 'uploaded artifacts kept'],
  ['artifactMib', '--artifact-mib <n>', 'artifactBytes', MIB, 'MiB of uploaded artifacts kept'],
];

function human(q: QuotaStatus): { quota: string; limit: string; used: string; source: string } {
  const fmt = (n: number) =>
    q.unit === 'bytes' ? `${(n / MIB).toFixed(n % MIB === 0 ? 0 : 1)} MiB` : q.unit === 'MiB' ? `${n} MiB` : String(n);
  return { quota: q.name, limit: fmt(q.limit), used: fmt(q.used), source: q.overridden ? 'tenant' : 'default' };
}

export function registerTenantQuota(
  tenant: Command,
  deps: {
    withStore: WithStore;
    tenantId: (s: Store, nameOrId: string) => Promise<string>;
  },
): void {
  const quota = tenant.command('quota').description("a tenant's quotas (operator)");
  const status = async (s: Store, o: StoreOpts, id: string): Promise<QuotaStatus[]> => {
    const dataDir = path.resolve(o.dataDir ?? DEFAULT_DATA_DIR);
    const svc = new QuotaService({
      store: s,
      disk: nodeDisk,
      checkpointRoot: path.join(dataDir, 'checkpoints'),
      defaults: effectiveLimits(DEFAULT_QUOTAS, quotaDefaults({})),
      artifacts: diskArtifactUsage(path.join(dataDir, 'artifacts')),
    });
    return svc.status(id);
  };
  const show = async (s: Store, o: StoreOpts, name: string): Promise<void> => {
    const id = await deps.tenantId(s, name);
    const st = await status(s, o, id);
    if (o.json) print({ tenant: name, tenantId: id, quotas: st }, o);
    else table(st.map(human));
  };

  storeOptions(quota.command('show <tenant>').description('limits (tenant override or default) and current use')).action(
    async (name: string, o: StoreOpts) => deps.withStore(o, (s) => show(s, o, name)),
  );

  const set = storeOptions(
    quota.command('set <tenant>').description("override some of a tenant's quotas (0 = none allowed); others keep theirs"),
  );
  for (const [, flag, , , help] of SET_OPTIONS) set.option(flag, help);
  set.action(async (name: string, o: StoreOpts & Record<string, string | undefined>) =>
    deps.withStore(o, async (s) => {
      const patch: Patch<QuotaOverrides> = {};
      for (const [key, flag, q, mult] of SET_OPTIONS) {
        const raw = o[key];
        if (raw === undefined) continue;
        const n = Number(raw);
        if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n * mult))
          throw new CubbyError('CUBBY_VALIDATION', `${flag.split(' ')[0]}: expected a whole number >= 0, got ${raw}`);
        patch[q] = n * mult;
      }
      if (Object.keys(patch).length === 0)
        throw new CubbyError('CUBBY_VALIDATION', `name at least one quota: ${SET_OPTIONS.map((x) => x[1].split(' ')[0]).join(' ')}`);
      validateOverrides(patch as QuotaOverrides);
      await s.setQuotaOverrides(await deps.tenantId(s, name), patch);
      await show(s, o, name);
    }),
  );

  storeOptions(quota.command('reset <tenant>').description("drop the tenant's overrides: back to the defaults")).action(
    async (name: string, o: StoreOpts) =>
      deps.withStore(o, async (s) => {
        await s.clearQuotaOverrides(await deps.tenantId(s, name));
        await show(s, o, name);
      }),
  );
}
