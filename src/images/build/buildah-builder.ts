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
 * No registry is ever contacted: FROM is rewritten to the local image, pulls are disabled.
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
}

const LOG_TAIL_LINES = 25;

export class BuildahBuilder implements ImageBuilder {
  readonly storageDir: string;
  private readonly images: ManagedImageStore;
  private readonly buildah: BuildahRunner;
  private readonly runsc: string;
  private readonly timeoutMs: number;
  private swept = false;

  constructor(opts: BuildahBuilderOptions = {}) {
    const images = opts.images ?? new ManagedImages(opts.cacheDir ? { cacheDir: opts.cacheDir } : {});
    this.images = images;
    const cacheDir = opts.cacheDir ?? (images instanceof ManagedImages ? images.cacheDir : new ManagedImages().cacheDir);
    this.storageDir = path.resolve(opts.storageDir ?? path.join(cacheDir, 'buildah'));
    this.buildah = buildahRunner(opts.buildah ?? 'buildah', this.storageDir);
    this.runsc = opts.runsc ?? '/usr/bin/runsc';
    this.timeoutMs = opts.timeoutMs ?? 15 * 60_000;
  }

  async build(req: BuildRequest): Promise<BuiltImage> {
    const started = Date.now();
    const deadline = started + (req.timeoutMs ?? this.timeoutMs);
    const logLines: string[] = [];
    const log = (line: string): void => { logLines.push(line); req.onLog?.(line); };
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
    const summary = analyzeDockerfile(dockerfile);
    const wanted = checkFrom(summary.from, req.base, managed);

    await this.sweepOnce();
    const buildsRoot = path.join(this.storageDir, 'builds');
    const buildDir = await createBuildDir(buildsRoot, `${Date.now().toString(36)}-${randomBytes(5).toString('hex')}`);
    try {
      const base = await this.images.ensure(wanted.name, wanted.version, (p) => { if (!p.line) log(`[cubby] base image ${wanted.name}: ${p.phase}`); });
      const shared = await sharedLayout(this.storageDir);
      const baseRef = await importBase(this.buildah, shared, this.storageDir, base, log);
      const layout = await buildLayout(buildDir, shared);
      const wrapper = path.join(buildDir, 'runsc-wrapper');
      await writeRunscWrapper(wrapper, {
        runsc: this.runsc, stateDir: path.join(buildDir, 'runsc'), network: req.network ?? 'none', logFile: path.join(buildDir, 'runsc.log'), pidFile: path.join(buildDir, 'deferred-deletes'),
        containersFile: path.join(buildDir, 'containers'),
      });
      const rewritten = path.join(buildDir, 'Dockerfile');
      await fs.writeFile(rewritten, rewriteFrom(dockerfile, summary.from, baseRef));
      const outRef = `localhost/cubby-build/${path.basename(buildDir)}:latest`;
      const args = [
        'bud', '--pull-never', '--layers=false', '--force-rm', '--format', 'oci', '--jobs', '1',
        '--isolation', 'oci', '--runtime', wrapper, '--network', req.network ?? 'none',
        ...(req.memoryBytes ? ['--memory', String(req.memoryBytes)] : []),
        ...Object.entries(req.buildArgs ?? {}).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
        '-f', rewritten, '-t', outRef, path.resolve(req.contextDir),
      ];
      log(`[cubby] building on ${baseRef}`);
      const left = deadline - Date.now();
      const r = left > 0 ? await this.buildah.run(layout, args, { onLine: log, timeoutMs: left }) : undefined;
      if (!r || r.code !== 0) {
        const why = !r || r.timedOut ? `timed out after ${req.timeoutMs ?? this.timeoutMs} ms` : `exit ${r.code ?? r.signal}`;
        if (r?.timedOut) log(`[cubby] build timed out`);
        throw new CubbyError('BUILD_FAILED', `image build failed (${why}):\n${logLines.slice(-LOG_TAIL_LINES).join('\n')}`,
          { details: { log: fullLog() } });
      }
      await exportRootfs(this.buildah, layout, outRef, outputDir);
      const config = await readImageConfig(this.buildah, layout, outRef);
      if (config.user) config.user = await resolveUser(outputDir, config.user);
      const sizeBytes = await dirSize(outputDir);
      log(`[cubby] exported rootfs (${sizeBytes} bytes) in ${Date.now() - started} ms`);
      return {
        rootfs: outputDir, config, base: { name: base.name, version: base.version }, sizeBytes, log: fullLog(), durationMs: Date.now() - started,
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
