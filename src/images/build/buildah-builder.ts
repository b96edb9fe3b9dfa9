/**
 * Builds a code artifact's Dockerfile daemonlessly with buildah, on a managed base image, and
 * exports the result as a plain rootfs directory plus its image config.
 *
 * Isolation of RUN steps (they run the tenant's code): each step runs in a gVisor sandbox
 * (`buildah bud --isolation oci --runtime <runsc wrapper>`, see runsc-wrapper.ts): gVisor's own
 * kernel, the container rootfs as the only filesystem (plus buildah's /etc/hosts, resolv.conf,
 * hostname). Network: none (runsc --network=none), or under the request's `internet` policy the
 * build's own netns from the network driver, set up and fenced like a microVM's (build-network.ts:
 * public addresses and DNS, never the host, other sandboxes or unallowed private ranges). COPY/ADD
 * are done by buildah itself on the host from the context directory only; ADD from URLs,
 * COPY --from, RUN flags and multi-stage builds are refused before buildah starts (analyze.ts).
 * No registry is ever contacted: FROM is rewritten to the local image, pulls are disabled, and
 * buildah itself runs in an empty network namespace (buildah-storage.ts).
 *
 * Caps: the whole build writes into its own file system of `diskBytes` (build-disk.ts), so a
 * write past it is ENOSPC inside the RUN step; each RUN step's sandbox has a memory cgroup limit of
 * `memoryBytes` (the sandbox is killed past it). The exported rootfs is the base plus what the
 * capped build added, so it is bounded too. A build that would leave the host's file system with
 * less than `hostReserveMiB` free is refused before it starts.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { BuildRequest, BuiltImage, ImageBuilder, ManagedImageStore } from '../../core/ports/images.js';
import { CubbyError, asCubbyError } from '../../errors/index.js';
import { ManagedImages } from '../base/managed-images.js';
import { analyzeDockerfile } from '../dockerfile/analyze.js';
import { checkFrom, rewriteFrom } from '../dockerfile/base-from.js';
import { dirSize } from '../util/dir-size.js';
import { importBase } from './base-import.js';
import { buildLayout, buildahRunner, sharedLayout, type BuildahRunner, type StorageLayout } from './buildah-storage.js';
import { diskSpace, mib, mountBuildDisk } from './build-disk.js';
import { failureReason } from './build-failure.js';
import { createBuildDir, removeBuildDir, sweepBuildDirs } from './build-dir.js';
import { exportRootfs, inspectImage } from './export-image.js';
import { deltaPlan } from './export-delta.js';
import { imageLayers, pruneExportRecords, readExportRecord, writeExportRecord } from './export-layers.js';
import { linkSource } from './export-link.js';
import { mountBuildSecrets, type BuildSecretsMount } from './build-secrets.js';
import { resolveUser } from './resolve-user.js';
import { writeRunscWrapper } from './runsc-wrapper.js';
import type { NetworkPort, SandboxNetwork } from '../../core/ports/network.js';
import { allocateBuildNetwork, dnsServers, primeScript, releaseBuildNetwork, sweepBuildNetworks } from './build-network.js';
import { cacheable, resumeDockerfile, stepKeys, type StepKey } from './cache-keys.js';
import { LayerCache, cacheRef } from './layer-cache.js';
import { StepTracker } from './step-log.js';
import { StepNetworkUse } from './step-network.js';
import { worthCaching } from './cache-rule.js';
import { createMountPoints } from './mount-points.js';

export interface BuildahBuilderOptions {
  /** Managed base images (default: a ManagedImages on `cacheDir`). */
  images?: ManagedImageStore;
  /** Default: $CUBBY_CACHE_DIR, else /var/cache/cubby. */
  cacheDir?: string;
  /** Cubby's private buildah storage (default <cacheDir>/buildah). */
  storageDir?: string;
  buildah?: string;
  /** Absolute path of runsc (default /usr/bin/runsc). */
  runsc?: string;
  /** Default whole-build limit (15 minutes). */
  timeoutMs?: number;
  /** Default disk cap of a build (8192 MiB). */
  diskMiB?: number;
  /** Default memory cap of a RUN step (2048 MiB). */
  memoryMiB?: number;
  /** Free space a build must leave on the storage dir's file system (2048 MiB). */
  hostReserveMiB?: number;
  /** The network driver builds with network allocate from (the daemon's, as for microVMs); none: builds have no network. */
  network?: NetworkPort;
  /** Bound of the layer cache (default 8192 MiB; 0: no cache). */
  cacheMiB?: number;
}

export const DEFAULT_BUILD_CACHE_MIB = 8192;

export const DEFAULT_BUILD_DISK_MIB = 8192;
export const DEFAULT_BUILD_MEMORY_MIB = 2048;
export const DEFAULT_HOST_DISK_RESERVE_MIB = 2048;
const MiB = 1024 * 1024;

const LOG_TAIL_LINES = 25;

export class BuildahBuilder implements ImageBuilder {
  readonly storageDir: string;
  private readonly images: ManagedImageStore;
  private readonly buildah: BuildahRunner;
  private readonly runsc: string;
  private readonly timeoutMs: number;
  private readonly diskBytes: number;
  private readonly memoryBytes: number;
  private readonly reserveBytes: number;
  private swept = false;
  private networkPort: NetworkPort | undefined;
  readonly cache: LayerCache;
  /** Records of what each exported rootfs was made of (export-layers.ts). */
  private readonly exportsDir: string;
  /** Ids of this builder's builds in progress (their networks are live). */
  private readonly active = new Set<string>();

  constructor(opts: BuildahBuilderOptions = {}) {
    const images = opts.images ?? new ManagedImages(opts.cacheDir ? { cacheDir: opts.cacheDir } : {});
    this.images = images;
    const cacheDir = opts.cacheDir ?? (images instanceof ManagedImages ? images.cacheDir : new ManagedImages().cacheDir);
    this.storageDir = path.resolve(opts.storageDir ?? path.join(cacheDir, 'buildah'));
    this.buildah = buildahRunner(opts.buildah ?? 'buildah', this.storageDir);
    this.runsc = opts.runsc ?? '/usr/bin/runsc';
    this.timeoutMs = opts.timeoutMs ?? 15 * 60_000;
    this.diskBytes = (opts.diskMiB ?? DEFAULT_BUILD_DISK_MIB) * MiB;
    this.memoryBytes = (opts.memoryMiB ?? DEFAULT_BUILD_MEMORY_MIB) * MiB;
    this.reserveBytes = (opts.hostReserveMiB ?? DEFAULT_HOST_DISK_RESERVE_MIB) * MiB;
    this.networkPort = opts.network;
    const cacheBytes = (opts.cacheMiB ?? DEFAULT_BUILD_CACHE_MIB) * MiB;
    this.exportsDir = path.join(this.storageDir, 'exports');
    this.cache = new LayerCache({ storageDir: this.storageDir, buildah: this.buildah, maxBytes: cacheBytes });
  }

  private network(): NetworkPort {
    if (!this.networkPort) throw new CubbyError('BUILD_FAILED', 'this builder has no network driver: its builds cannot have network');
    return this.networkPort;
  }

  /** Refuses what would leave the host's file system with less than the reserve free. */
  private async checkHostSpace(needBytes: number, what: string): Promise<void> {
    const space = await diskSpace(this.storageDir);
    if (!space) throw new CubbyError('BUILD_FAILED', `cannot read the free space of ${this.storageDir}`);
    if (space.free - needBytes < this.reserveBytes) {
      throw new CubbyError(
        'BUILD_HOST_DISK_LOW',
        `build refused: the host has ${mib(space.free)} MiB free on ${this.storageDir}; ` +
          `${what} (${mib(needBytes)} MiB) would leave less than the host reserve of ${mib(this.reserveBytes)} MiB`,
      );
    }
  }

  async build(req: BuildRequest): Promise<BuiltImage> {
    const started = Date.now();
    const deadline = started + (req.timeoutMs ?? this.timeoutMs);
    const logLines: string[] = [];
    const log = (line: string): void => {
      logLines.push(line);
      req.onLog?.(line);
    };
    let steps: StepTracker | undefined;
    const fullLog = (): string => logLines.join('\n') + (logLines.length ? '\n' : '');
    const outputDir = path.resolve(req.outputDir);
    if (await fs.lstat(outputDir).catch(() => undefined)) {
      throw new CubbyError('CUBBY_VALIDATION', `build output ${outputDir} already exists`);
    }
    const dockerfile = await fs.readFile(path.join(req.contextDir, 'Dockerfile'), 'utf8').catch(() => undefined);
    if (dockerfile === undefined) throw new CubbyError('DOCKERFILE_MISSING', `no Dockerfile in ${req.contextDir}`);
    const managed = this.images.catalog().map((d) => d.name);
    if (!managed.includes(req.base.name)) {
      throw new CubbyError('IMAGE_BASE_NOT_FOUND', `unknown managed image "${req.base.name}" (available: ${managed.join(', ')})`);
    }
    const summary = analyzeDockerfile(dockerfile, { buildArgs: req.buildArgs ?? {} });
    const wanted = checkFrom(summary.from, req.base, managed);

    const diskBytes = req.diskBytes ?? this.diskBytes;
    const memoryBytes = req.memoryBytes ?? this.memoryBytes;
    await this.sweepOnce();
    const buildsRoot = path.join(this.storageDir, 'builds');
    await fs.mkdir(buildsRoot, { recursive: true, mode: 0o700 });
    await this.checkHostSpace(diskBytes, `the build's disk cap`);
    const buildId = `${Date.now().toString(36)}-${randomBytes(5).toString('hex')}`;
    const buildDir = await createBuildDir(buildsRoot, buildId);
    let net: SandboxNetwork | undefined;
    let secretsMount: BuildSecretsMount | undefined;
    this.active.add(buildId);
    try {
      const base = await this.images.ensure(wanted.name, wanted.version, (p) => {
        if (!p.line) log(`[cubby] base image ${wanted.name}: ${p.phase}`);
      });
      const shared = await sharedLayout(this.storageDir);
      const baseRef = await importBase(this.buildah, shared, this.storageDir, base, log);
      const mode = req.network ?? 'none';
      const fromIndex = summary.instructions.findIndex((i) => i.keyword === 'FROM');
      // The layer cache: keys of every step, and the latest cached one to start from.
      const caching = this.cache.enabled && req.cacheScope !== undefined;
      let keys: StepKey[] = [];
      let hit: StepKey | undefined;
      if (caching) {
        keys = await stepKeys(summary.instructions, fromIndex, {
          scope: req.cacheScope as string,
          base: { ref: baseRef, createdAt: base.createdAt },
          network: mode,
          buildArgs: req.buildArgs ?? {},
          ...(req.secrets ? { secrets: req.secrets } : {}),
          contextDir: req.contextDir,
        });
        const candidates = keys.filter((k) => cacheable(k.instruction));
        const found = req.noCache ? undefined : await this.cache.latest(candidates.map((k) => k.key));
        hit = keys.find((k) => k.key === found);
        if (req.noCache) log('[cubby] layer cache: not used (--no-cache); completed steps are cached for later builds');
      }
      const dataDir = await mountBuildDisk(buildDir, diskBytes);
      const layout = await buildLayout(buildDir, shared, dataDir);
      if (hit) {
        // The build starts from a copy in its own store (only the layers its base lacks are copied).
        const t = Date.now();
        await this.cache.load(layout, hit.key).catch((e: unknown) => {
          log(`[cubby] layer cache: entry unusable, building every step: ${(e as Error).message}`);
          hit = undefined;
        });
        if (hit) log(`[cubby] layer cache: loaded the entry for line ${hit.instruction.line} in ${Date.now() - t} ms`);
      }
      const netArgs = ['--network', 'none'];
      if (mode !== 'none') {
        net = await allocateBuildNetwork(this.network(), buildId, mode);
        const dns = await dnsServers(this.network());
        netArgs.splice(0, 2, '--network', `ns:${net.netnsPath}`, ...dns.flatMap((a) => ['--dns', a]));
        log(`[cubby] RUN steps reach the network (${mode}) from ${net.sandboxAddress}, DNS ${dns.join(', ') || 'none'}`);
      }
      const wrapper = path.join(buildDir, 'runsc-wrapper');
      await writeRunscWrapper(wrapper, {
        runsc: this.runsc,
        stateDir: path.join(buildDir, 'runsc'),
        network: net ? { prime: primeScript(net) } : 'none',
        logFile: path.join(buildDir, 'runsc.log'),
        pidFile: path.join(buildDir, 'deferred-deletes'),
        containersFile: path.join(buildDir, 'containers'),
      });
      const rewritten = path.join(buildDir, 'Dockerfile');
      const text = hit
        ? resumeDockerfile(dockerfile, summary.instructions, fromIndex, hit.index, cacheRef(hit.key))
        : rewriteFrom(dockerfile, summary.from, baseRef);
      await fs.writeFile(rewritten, text);
      // Which RUN steps use the network decides, with their durations, which get cached (cache-rule.ts).
      const audit = this.networkPort;
      const netUse = caching && net && audit?.egressAudit ? new StepNetworkUse(audit, net.sandboxAddress) : undefined;
      const isRun = (i: number): boolean => summary.instructions[i]?.keyword === 'RUN';
      steps = new StepTracker(summary.instructions, fromIndex, text, {
        started: (i) => (isRun(i) ? netUse?.started(i) : undefined),
        committed: (i) => netUse?.ended(i),
      });
      if (hit) {
        const upTo = hit.index;
        for (const k of keys.filter((x) => x.index <= upTo)) log(`${steps.label(k.index)} (cached)`);
        log(`[cubby] layer cache: reusing steps up to line ${hit.instruction.line} (${hit.instruction.keyword})`);
      }
      const outRef = `localhost/cubby-build/${path.basename(buildDir)}:latest`;
      secretsMount = await mountBuildSecrets(req.secrets);
      const args = [
        'bud',
        ...secretsMount.args,
        '--pull-never',
        // With the cache: every step is committed (for the cache), none is looked up by buildah
        // (the keys decide what is reused, see cache-keys.ts).
        ...(caching ? ['--layers=true', '--no-cache'] : ['--layers=false']),
        '--force-rm',
        '--format',
        'oci',
        '--jobs',
        '1',
        '--isolation',
        'oci',
        '--runtime',
        wrapper,
        ...netArgs,
        '--memory',
        String(memoryBytes),
        '--memory-swap',
        String(memoryBytes),
        ...Object.entries(req.buildArgs ?? {}).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
        '-f',
        rewritten,
        '-t',
        outRef,
        path.resolve(req.contextDir),
      ];
      log(
        `[cubby] building on ${baseRef} in build ${path.basename(buildDir)} (disk cap ${mib(diskBytes)} MiB, RUN memory cap ${mib(memoryBytes)} MiB)`,
      );
      const left = deadline - Date.now();
      const tracker = steps;
      const r = left > 0 ? await this.buildah.run(layout, args, { onLine: (l) => log(tracker.line(l)), timeoutMs: left }) : undefined;
      if (caching && r && !r.timedOut) await this.fillCache(layout, dataDir, tracker, netUse, keys, hit, req.cacheScope as string, log);
      if (!r || r.code !== 0) {
        const status = r ? /while running runtime: (exit status \d+)/.exec(r.output)?.[1] : undefined;
        const why = !r || r.timedOut ? `timed out after ${req.timeoutMs ?? this.timeoutMs} ms` : (status ?? `exit ${r.code ?? r.signal}`);
        if (r?.timedOut) log(`[cubby] build timed out`);
        const cap =
          r && !r.timedOut
            ? await failureReason(r.output, dataDir, { diskBytes, memoryBytes, containersFile: path.join(buildDir, 'containers') })
            : undefined;
        if (cap) log(`[cubby] ${cap}`);
        // The failing step and the tail of its own output (else the build log's tail).
        const f = tracker.failed(LOG_TAIL_LINES);
        const where = f ? ` at ${f.step} (Dockerfile line ${f.line})` : '';
        const tail = f && f.tail.length ? f.tail : logLines.slice(-LOG_TAIL_LINES);
        throw new CubbyError(
          'BUILD_FAILED',
          cap ? `image build failed${where}: ${cap}:\n${tail.join('\n')}` : `image build failed${where} (${why}):\n${tail.join('\n')}`,
          { details: { log: fullLog(), ...(f ? { step: f.step, line: f.line } : {}) } },
        );
      }
      log(`[cubby] steps done in ${Date.now() - started} ms; exporting the rootfs`);
      // The export is the base plus what the build added (at most what its file system holds).
      const used = await diskSpace(dataDir);
      await this.checkHostSpace(base.sizeBytes + (used ? used.total - used.free : diskBytes), 'exporting the built rootfs');
      const inspectStarted = Date.now();
      const image = await inspectImage(this.buildah, layout, outRef);
      const { config } = image;
      // The layers it is made of, so the next version's export can tell what cannot have changed.
      const layers = await imageLayers(layout, image.diffIds);
      const linkDest = await linkSource(outputDir);
      const prevLayers = linkDest ? await readExportRecord(this.exportsDir, linkDest) : undefined;
      const plan = prevLayers ? deltaPlan(prevLayers, layers) : undefined;
      const exportStarted = Date.now();
      const inspectMs = exportStarted - inspectStarted;
      const exported = await exportRootfs(this.buildah, layout, outRef, outputDir, {
        ...(linkDest ? { linkDest } : {}),
        ...(plan ? { plan } : {}),
        tmpDir: layout.tmp,
      });
      // Where the runtime will mount files over (the agent): made now, so that starting a
      // sandbox never writes the rootfs after its export (runsc would make them, and the record
      // below would no longer hold for the next rebuild).
      const made = await createMountPoints(outputDir, req.mountPoints ?? []);
      if (made.skipped.length) log(`[cubby] mount points not made (a symlink or a file is in the way): ${made.skipped.join(', ')}`);
      const exportMs = Date.now() - exportStarted;
      if (config.user) config.user = await resolveUser(outputDir, config.user);
      const sizeStarted = Date.now();
      const sizeBytes = await dirSize(outputDir);
      const sizeMs = Date.now() - sizeStarted;
      await writeExportRecord(this.exportsDir, outputDir, layers).catch((e: unknown) =>
        log(`[cubby] the export's layer record was not written (the next rebuild compares file by file): ${(e as Error).message}`),
      );
      const sharing = exported.linked ? `; unchanged files shared with ${path.basename(path.dirname(exported.linked))}` : '';
      log(
        `[cubby] exported rootfs (${sizeBytes} bytes) in ${Date.now() - started} ms${sharing} (layers read in ${inspectMs} ms; export ${exportMs} ms: ${exported.how}; size ${sizeMs} ms)`,
      );
      return {
        rootfs: outputDir,
        config,
        base: { name: base.name, version: base.version },
        sizeBytes,
        log: fullLog(),
        durationMs: Date.now() - started,
      };
    } catch (e) {
      await fs.rm(outputDir, { recursive: true, force: true }).catch(() => undefined);
      const err = asCubbyError(e, 'BUILD_FAILED');
      if (err.details?.log === undefined && err.code === 'BUILD_FAILED') {
        throw new CubbyError(err.code, err.message, { details: { ...err.details, log: fullLog() }, cause: e });
      }
      throw err;
    } finally {
      await secretsMount?.remove().catch(() => undefined);
      await removeBuildDir(buildDir, this.runsc);
      if (net)
        await releaseBuildNetwork(this.network(), net).catch((e: unknown) => log(`[cubby] releasing the build network: ${String(e)}`));
      this.active.delete(buildId);
    }
  }

  /**
   * Copies the build's completed steps that write files into the layer cache (those after the
   * step it started from), then keeps the cache within its bound. A failure here never fails the
   * build: the log says what was not cached.
   */
  private async fillCache(
    layout: StorageLayout,
    dataDir: string,
    tracker: StepTracker,
    netUse: StepNetworkUse | undefined,
    keys: readonly StepKey[],
    hit: StepKey | undefined,
    scope: string,
    log: (line: string) => void,
  ): Promise<void> {
    const todo: StepKey[] = [];
    for (const k of keys) {
      if (!cacheable(k.instruction) || (hit && k.index <= hit.index) || !tracker.images.has(k.index)) continue;
      const step = { durationMs: tracker.durations.get(k.index) ?? 0, usedNetwork: (await netUse?.used(k.index)) ?? false };
      if (worthCaching(step)) todo.push(k);
    }
    if (todo.length === 0) return;
    const started = Date.now();
    try {
      const used = await diskSpace(dataDir);
      await this.checkHostSpace(used ? used.total - used.free : 0, 'filling the layer cache');
      for (const k of todo) {
        await this.cache.save(layout, tracker.images.get(k.index) as string, {
          key: k.key,
          scope,
          step: tracker.label(k.index),
          createdAt: new Date().toISOString(),
        });
      }
      log(`[cubby] layer cache: ${todo.length} step(s) cached in ${Date.now() - started} ms`);
      await this.cache.prune(log);
    } catch (e) {
      log(`[cubby] layer cache: not filled: ${(e as Error).message}`);
    }
  }

  /** Removes what builds of dead processes left in the build store. */
  sweep(): Promise<string[]> {
    return sweepBuildDirs(path.join(this.storageDir, 'builds'), this.runsc);
  }

  private async sweepOnce(): Promise<void> {
    if (this.swept) return;
    this.swept = true;
    await this.sweep().catch(() => undefined);
    await pruneExportRecords(this.exportsDir).catch(() => undefined);
    // Networks of builds whose process died; only when this builder has a driver already (a
    // builder that never builds with network has nothing of its own to sweep).
    if (this.networkPort) await sweepBuildNetworks(this.networkPort, this.active).catch(() => undefined);
  }
}
