/**
 * The core, assembled from its ports: the services front doors call, plus the lifecycle
 * machinery (manager, policy scheduler, launcher, build pipeline) the daemon starts and stops.
 */
import type { CoreServices } from './services.js';
import type { Store } from './ports/store.js';
import type { SandboxRuntime } from './ports/runtime.js';
import type { NetworkPort } from './ports/network.js';
import type { HooksPort } from './ports/hooks.js';
import type { DiskPort } from './ports/disk.js';
import type { TokenIssuer } from './ports/tokens.js';
import type { ArtifactUnpacker, ImageBuilder, ManagedImageStore } from './ports/images.js';
import type { CoreObserver, Logger } from './ports/observer.js';
import { MicrovmManager } from './microvms/manager.js';
import { PolicyScheduler } from './microvms/scheduler.js';
import { reconcile, type ReconcileReport } from './microvms/reconcile.js';
import { Launcher } from './launch/launcher.js';
import type { LaunchLimits } from './launch/launch-gate.js';
import { BuildPipeline } from './images/pipeline.js';
import { ImagesServiceImpl } from './images/service.js';
import { TokensServiceImpl } from './access/tokens-service.js';
import { TagsServiceImpl } from './access/tags-service.js';
import { UsageServiceImpl } from './usage/service.js';
import type { UsagePrices } from './usage/types.js';
import type { ArtifactUsagePort } from './ports/artifacts.js';
import { QuotaService } from './quotas/service.js';
import { RolesServiceImpl } from './roles/service.js';
import { SessionIssuer } from './roles/sessions.js';
import { InstanceCredentials } from './roles/delivery.js';
import { effectiveLimits } from './quotas/check.js';
import { DEFAULT_QUOTAS, type QuotaLimits } from './quotas/types.js';
import { DEFAULT_BUILD_CAP_LIMITS, type BuildCapLimits } from './images/build-caps.js';
import { DEFAULT_IDLE_TIERS, type IdleTierConfig } from './microvms/idle-tiers.js';
import type { HostMemoryPort } from './ports/host.js';

export interface CoreConfig {
  dataDir: string;
  warmPoolSize: number;
  maxActiveMicrovms: number;
  defaultMaximumDurationSeconds: number;
  policyTickMs: number;
  terminatedRetentionMs: number;
  buildConcurrency: number;
  /** Prices of the usage cost estimate (absent: the illustrative defaults of usage/prices.ts). */
  usagePrices?: Partial<UsagePrices>;
  /** The operator's default per-tenant quotas (absent members: DEFAULT_QUOTAS). */
  quotas?: Partial<QuotaLimits>;
  /** The operator's maximum build caps an image may ask for (absent members: build-caps.ts). */
  buildLimits?: Partial<BuildCapLimits>;
  /** Host path of the in-sandbox agent binary (content-addressed); absent: images cannot ask for it. */
  agentBinary?: string;
  /** The frozen and disk tiers of idle microVMs (absent members: DEFAULT_IDLE_TIERS). */
  idleTiers?: Partial<IdleTierConfig>;
  /** Launch concurrency, queue bounds and warm-pool refill pacing (absent members: DEFAULT_LAUNCH_LIMITS). */
  launches?: Partial<LaunchLimits>;
}

export const DEFAULT_CORE_CONFIG: Omit<CoreConfig, 'dataDir'> = {
  // Deep enough for a storm of ~50 launches of a few images at >= 10/s on 2 cores (cold restores
  // top out near 6/s); only one clone per version runs, the spares are frozen (memory, no CPU).
  warmPoolSize: 8,
  maxActiveMicrovms: 200,
  defaultMaximumDurationSeconds: 28_800,
  policyTickMs: 200,
  terminatedRetentionMs: 24 * 3600 * 1000,
  buildConcurrency: 1,
};

export interface CoreDeps {
  store: Store;
  runtime: SandboxRuntime;
  hooks: HooksPort;
  disk: DiskPort;
  tokens: TokenIssuer;
  managed: ManagedImageStore;
  unpacker: ArtifactUnpacker;
  builder: ImageBuilder;
  log: Logger;
  observer?: CoreObserver;
  /** What tenants' uploads take on disk (the artifacts quota); absent: uploads count as none. */
  artifacts?: ArtifactUsagePort;
  /** The network driver's egress audits (DNS questions, connections); absent: none. */
  network?: Pick<NetworkPort, 'egressAudit'>;
  /** The host's free memory (the idle tiers' watermark); absent: no spilling to disk for memory. */
  hostMemory?: HostMemoryPort;
  config: CoreConfig;
}

export interface Core {
  services: CoreServices;
  /** Session credentials of execution roles: issued to microVMs, checked by the API (src/core/roles). */
  sessions: SessionIssuer;
  /** What a microVM's credentials endpoint answers. */
  instanceCredentials: InstanceCredentials;
  manager: MicrovmManager;
  launcher: Launcher;
  images: ImagesServiceImpl;
  scheduler: PolicyScheduler;
  quotas: QuotaService;
  /** Reconciles with the runtime, then starts the policy clock. */
  start(): Promise<ReconcileReport>;
  /** Stops the clock, writes frozen microVMs to disk, waits for builds, destroys warm-pool sandboxes; running microVMs keep running. */
  stop(): Promise<void>;
}

export function createCore(d: CoreDeps): Core {
  const c = d.config;
  const imagesRoot = d.disk.join(c.dataDir, 'images');
  const checkpointRoot = d.disk.join(c.dataDir, 'checkpoints');
  const quotas = new QuotaService({
    store: d.store,
    disk: d.disk,
    checkpointRoot,
    defaults: effectiveLimits(DEFAULT_QUOTAS, c.quotas),
    ...(d.artifacts ? { artifacts: d.artifacts } : {}),
  });
  const launcher = new Launcher({
    runtime: d.runtime,
    hooks: d.hooks,
    log: d.log,
    poolSize: c.warmPoolSize,
    ...(c.launches ? { limits: c.launches } : {}),
    ...(d.observer ? { observer: d.observer } : {}),
  });
  const manager = new MicrovmManager({
    store: d.store,
    runtime: d.runtime,
    hooks: d.hooks,
    disk: d.disk,
    launcher,
    log: d.log,
    observer: d.observer,
    quotas,
    ...(d.hostMemory ? { hostMemory: d.hostMemory } : {}),
    ...(d.network ? { network: d.network } : {}),
    config: {
      checkpointRoot,
      maxActive: c.maxActiveMicrovms,
      defaultMaximumDurationSeconds: c.defaultMaximumDurationSeconds,
      idleTiers: { ...DEFAULT_IDLE_TIERS, ...c.idleTiers },
    },
  });
  const scheduler = new PolicyScheduler({
    store: d.store,
    manager,
    runtime: d.runtime,
    log: d.log,
    config: { tickMs: c.policyTickMs, terminatedRetentionMs: c.terminatedRetentionMs },
  });
  const buildLimits: BuildCapLimits = { ...DEFAULT_BUILD_CAP_LIMITS, ...c.buildLimits };
  const pipeline = new BuildPipeline({
    store: d.store,
    runtime: d.runtime,
    hooks: d.hooks,
    disk: d.disk,
    managed: d.managed,
    unpacker: d.unpacker,
    builder: d.builder,
    log: d.log,
    imagesRoot,
    buildLimits,
    ...(c.agentBinary ? { agentBinary: c.agentBinary } : {}),
  });
  const images = new ImagesServiceImpl({
    store: d.store,
    managed: d.managed,
    unpacker: d.unpacker,
    pipeline,
    launcher,
    disk: d.disk,
    imagesRoot,
    log: d.log,
    buildConcurrency: c.buildConcurrency,
    quotas,
    buildLimits,
    ...(c.agentBinary ? { agentBinary: c.agentBinary } : {}),
  });
  const roles = new RolesServiceImpl(d.store);
  const sessions = new SessionIssuer({ store: d.store });
  const services: CoreServices = {
    images,
    roles,
    microvms: manager,
    tokens: new TokensServiceImpl(d.store, d.tokens),
    tags: new TagsServiceImpl(d.store),
    quotas,
    usage: new UsageServiceImpl({
      store: d.store,
      runtime: d.runtime,
      disk: d.disk,
      checkpointRoot,
      quotas,
      ...(c.usagePrices ? { prices: c.usagePrices } : {}),
    }),
  };
  return {
    services,
    sessions,
    instanceCredentials: new InstanceCredentials({ store: d.store, issuer: sessions }),
    manager,
    launcher,
    images,
    scheduler,
    quotas,
    async start() {
      await images.reconcile();
      await images
        .reportAgentVersions()
        .catch((e: unknown) => d.log.warn({ err: String(e) }, 'could not check the agents of image versions'));
      const report = await reconcile({ store: d.store, runtime: d.runtime, disk: d.disk, manager, log: d.log });
      scheduler.start();
      return report;
    },
    async stop() {
      scheduler.stop();
      // Frozen microVMs are written to disk first (when configured): the disk tier at shutdown.
      await manager.tiers.stop();
      await images.drain();
      await launcher.close();
    },
  };
}
