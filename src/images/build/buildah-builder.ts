/**
 * Builds a code artifact's Dockerfile daemonlessly with buildah, on a managed base image, and
 * exports the result as a plain rootfs directory plus its image config.
 *
 * Isolation of RUN steps (they run the tenant's code): each step runs in a gVisor sandbox
 * (`buildah bud --isolation oci --runtime <runsc wrapper>`, see runsc-wrapper.ts): gVisor's own
 * kernel, the container rootfs as the only filesystem (plus buildah's /etc/hosts, resolv.conf,
 * hostname), no network (runsc --network=none) unless the request asks for the host's. COPY/ADD
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
import { buildLayout, buildahRunner, sharedLayout, type BuildahRunner } from './buildah-storage.js';
import { diskSpace, mib, mountBuildDisk } from './build-disk.js';
import { failureReason } from './build-failure.js';
import { createBuildDir, removeBuildDir, sweepBuildDirs } from './build-dir.js';
import { exportRootfs, readImageConfig } from './export-image.js';
import { resolveUser } from './resolve-user.js';
import { writeRunscWrapper } from './runsc-wrapper.js';

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
}

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
    const buildDir = await createBuildDir(buildsRoot, `${Date.now().toString(36)}-${randomBytes(5).toString('hex')}`);
    try {
      const base = await this.images.ensure(wanted.name, wanted.version, (p) => {
        if (!p.line) log(`[cubby] base image ${wanted.name}: ${p.phase}`);
      });
      const shared = await sharedLayout(this.storageDir);
      const baseRef = await importBase(this.buildah, shared, this.storageDir, base, log);
      const dataDir = await mountBuildDisk(buildDir, diskBytes);
      const layout = await buildLayout(buildDir, shared, dataDir);
      const wrapper = path.join(buildDir, 'runsc-wrapper');
      await writeRunscWrapper(wrapper, {
        runsc: this.runsc,
        stateDir: path.join(buildDir, 'runsc'),
        network: req.network ?? 'none',
        logFile: path.join(buildDir, 'runsc.log'),
        pidFile: path.join(buildDir, 'deferred-deletes'),
        containersFile: path.join(buildDir, 'containers'),
      });
      const rewritten = path.join(buildDir, 'Dockerfile');
      await fs.writeFile(rewritten, rewriteFrom(dockerfile, summary.from, baseRef));
      const outRef = `localhost/cubby-build/${path.basename(buildDir)}:latest`;
      const args = [
        'bud',
        '--pull-never',
        '--layers=false',
        '--force-rm',
        '--format',
        'oci',
        '--jobs',
        '1',
        '--isolation',
        'oci',
        '--runtime',
        wrapper,
        '--network',
        req.network ?? 'none',
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
      const r = left > 0 ? await this.buildah.run(layout, args, { onLine: log, timeoutMs: left }) : undefined;
      if (!r || r.code !== 0) {
        const why = !r || r.timedOut ? `timed out after ${req.timeoutMs ?? this.timeoutMs} ms` : `exit ${r.code ?? r.signal}`;
        if (r?.timedOut) log(`[cubby] build timed out`);
        const cap =
          r && !r.timedOut
            ? await failureReason(r.output, dataDir, { diskBytes, memoryBytes, containersFile: path.join(buildDir, 'containers') })
            : undefined;
        if (cap) log(`[cubby] ${cap}`);
        throw new CubbyError(
          'BUILD_FAILED',
          cap
            ? `image build failed: ${cap}:\n${logLines.slice(-LOG_TAIL_LINES).join('\n')}`
            : `image build failed (${why}):\n${logLines.slice(-LOG_TAIL_LINES).join('\n')}`,
          { details: { log: fullLog() } },
        );
      }
      // The export is the base plus what the build added (at most what its file system holds).
      const used = await diskSpace(dataDir);
      await this.checkHostSpace(base.sizeBytes + (used ? used.total - used.free : diskBytes), 'exporting the built rootfs');
      await exportRootfs(this.buildah, layout, outRef, outputDir);
      const config = await readImageConfig(this.buildah, layout, outRef);
      if (config.user) config.user = await resolveUser(outputDir, config.user);
      const sizeBytes = await dirSize(outputDir);
      log(`[cubby] exported rootfs (${sizeBytes} bytes) in ${Date.now() - started} ms`);
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
      await removeBuildDir(buildDir, this.runsc);
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
  }
}
