/**
 * Managed base images, built on this host and shared by every daemon and test on it:
 *   <cacheDir>/base/<name>/<version>/{rootfs/, manifest.json}
 * A build happens in <cacheDir>/base/<name>/.build-<version>-<pid>-<rand> and is renamed into place
 * only when complete, under an flock on <cacheDir>/base/<name>/<version>.lock, so concurrent
 * callers in any number of processes build once. Leftovers of a crashed build are removed by the
 * next build of that version (under the same lock).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { BaseImageProgressFn, ManagedImageDef, ManagedImageInfo, ManagedImageStore } from '../../core/ports/images.js';
import { CubbyError, asCubbyError } from '../../errors/index.js';
import { dirSize } from '../util/dir-size.js';
import { withFileLock } from '../util/file-lock.js';
import { BASE_RECIPES, DEFAULT_DEBIAN_MIRROR, VERSION_PATTERN, compareVersions, type BaseRecipe } from './catalog.js';
import { readManifest, writeManifest, type BaseManifest } from './manifest.js';
import * as recipe from './rootfs-recipe.js';

export interface ManagedImagesOptions {
  /** Default: $CUBBY_CACHE_DIR, else /var/cache/cubby. */
  cacheDir?: string;
  /** Debian mirror for debootstrap and apt (default http://deb.debian.org/debian). */
  mirror?: string;
  /** Bound on one image's build (default 20 minutes). */
  buildTimeoutMs?: number;
}

export function defaultCacheDir(): string {
  return process.env.CUBBY_CACHE_DIR || '/var/cache/cubby';
}

const BUILD_PREFIX = '.build-';

export class ManagedImages implements ManagedImageStore {
  readonly cacheDir: string;
  private readonly mirror: string;
  private readonly timeoutMs: number;
  private readonly inFlight = new Map<string, Promise<ManagedImageInfo>>();

  constructor(opts: ManagedImagesOptions = {}) {
    this.cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
    this.mirror = opts.mirror ?? DEFAULT_DEBIAN_MIRROR;
    this.timeoutMs = opts.buildTimeoutMs ?? 20 * 60_000;
  }

  catalog(): ManagedImageDef[] {
    return BASE_RECIPES.map(({ name, version, description, packages }) => ({ name, version, description, packages: [...packages] }));
  }

  async list(): Promise<ManagedImageInfo[]> {
    const out: ManagedImageInfo[] = [];
    for (const r of BASE_RECIPES) {
      const dirs = await fs.readdir(this.imageDir(r.name)).catch(() => [] as string[]);
      for (const v of dirs.filter((d) => VERSION_PATTERN.test(d)).sort(compareVersions)) {
        const m = await readManifest(path.join(this.imageDir(r.name), v));
        if (m) out.push(this.info(r, m));
      }
    }
    return out;
  }

  async resolve(name: string, version?: string): Promise<ManagedImageInfo> {
    const r = this.recipe(name);
    const v = version ?? r.version;
    const m = VERSION_PATTERN.test(v) ? await readManifest(this.versionDir(name, v)) : undefined;
    if (!m) {
      throw new CubbyError('IMAGE_BASE_NOT_FOUND', `managed image ${name}:${v} is not built on this host`, {
        details: { name, version: v },
      });
    }
    return this.info(r, m);
  }

  ensure(name: string, version?: string, onProgress?: BaseImageProgressFn): Promise<ManagedImageInfo> {
    const key = `${name}:${version ?? ''}`;
    let p = this.inFlight.get(key);
    if (!p) {
      p = this.ensureOnce(name, version, onProgress).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, p);
    }
    return p;
  }

  private async ensureOnce(name: string, version: string | undefined, onProgress?: BaseImageProgressFn): Promise<ManagedImageInfo> {
    const r = this.recipe(name);
    const v = version ?? r.version;
    const progress = onProgress ?? (() => undefined);
    const found = await this.resolve(name, v).catch(() => undefined);
    if (found) {
      progress({ phase: 'cached' });
      return found;
    }
    if (v !== r.version) {
      throw new CubbyError(
        'IMAGE_BASE_NOT_FOUND',
        `managed image ${name}:${v} is not built on this host and only version ${r.version} can be built`,
        { details: { name, version: v } },
      );
    }
    // The parent first, outside this image's lock: its own lock serialises its build.
    const parent = r.from ? await this.ensure(r.from, undefined, onProgress) : undefined;
    await fs.mkdir(this.imageDir(name), { recursive: true });
    const lockFile = path.join(this.imageDir(name), `${v}.lock`);
    return withFileLock(
      lockFile,
      async () => {
        const done = await this.resolve(name, v).catch(() => undefined);
        if (done) {
          progress({ phase: 'cached' });
          return done;
        }
        await this.removeLeftovers(name, v);
        return this.build(r, parent, progress);
      },
      {
        timeoutMs: this.timeoutMs + 60_000,
        onWait: () => progress({ phase: 'waiting', line: `another process is building ${name}:${v}` }),
      },
    );
  }

  private async build(r: BaseRecipe, parent: ManagedImageInfo | undefined, progress: BaseImageProgressFn): Promise<ManagedImageInfo> {
    if (process.getuid?.() !== 0) {
      throw new CubbyError('IMAGE_BASE_BUILD_FAILED', `building managed image ${r.name} needs root (debootstrap, chroot)`);
    }
    const tmp = path.join(this.imageDir(r.name), `${BUILD_PREFIX}${r.version}-${process.pid}-${randomBytes(4).toString('hex')}`);
    const rootfs = path.join(tmp, 'rootfs');
    const deadline = Date.now() + this.timeoutMs;
    const step = (phase: string): recipe.StepOptions => {
      progress({ phase });
      const left = deadline - Date.now();
      if (left <= 0) throw new CubbyError('IMAGE_BASE_BUILD_FAILED', `building ${r.name}:${r.version} timed out`);
      return { timeoutMs: left, onLine: (line) => progress({ phase, line }) };
    };
    try {
      await fs.mkdir(tmp, { recursive: true });
      if (parent) await recipe.copyRootfs(parent.rootfs, rootfs, step('derive'));
      else await recipe.debootstrap(rootfs, this.mirror, step('debootstrap'));
      await recipe.installPackages(rootfs, r.packages, this.mirror, step('install'), r.securityUpdates);
      await recipe.configure(rootfs, step('configure'));
      await recipe.writeFiles(rootfs, r.files);
      await recipe.runSetup(rootfs, r.setup, step('setup'));
      await recipe.cleanup(rootfs, step('cleanup'));
      progress({ phase: 'finalize' });
      const manifest: BaseManifest = {
        name: r.name,
        version: r.version,
        status: 'AVAILABLE',
        createdAt: new Date().toISOString(),
        sizeBytes: await dirSize(rootfs),
        packages: await recipe.listPackages(rootfs, step('finalize')),
        ...(parent ? { derivedFrom: { name: parent.name, version: parent.version } } : {}),
      };
      await writeManifest(tmp, manifest);
      await fs.rename(tmp, this.versionDir(r.name, r.version));
      progress({ phase: 'done' });
      return this.info(r, manifest);
    } catch (e) {
      await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw asCubbyError(e, 'IMAGE_BASE_BUILD_FAILED');
    }
  }

  /** Half-built directories of this version, left by a process that died mid-build. */
  private async removeLeftovers(name: string, version: string): Promise<void> {
    for (const d of await fs.readdir(this.imageDir(name)).catch(() => [] as string[])) {
      if (d.startsWith(`${BUILD_PREFIX}${version}-`)) {
        await fs.rm(path.join(this.imageDir(name), d), { recursive: true, force: true, maxRetries: 3 });
      }
    }
  }

  private recipe(name: string): BaseRecipe {
    const r = BASE_RECIPES.find((x) => x.name === name);
    if (!r) {
      throw new CubbyError(
        'IMAGE_BASE_NOT_FOUND',
        `unknown managed image "${name}" (available: ${BASE_RECIPES.map((x) => x.name).join(', ')})`,
        { details: { name } },
      );
    }
    return r;
  }

  private info(r: BaseRecipe, m: BaseManifest): ManagedImageInfo {
    return {
      name: m.name,
      version: m.version,
      status: m.version === r.version ? m.status : 'DEPRECATED',
      createdAt: m.createdAt,
      sizeBytes: m.sizeBytes,
      packages: m.packages,
      rootfs: path.join(this.versionDir(m.name, m.version), 'rootfs'),
    };
  }

  private imageDir(name: string): string {
    return path.join(this.cacheDir, 'base', name);
  }
  private versionDir(name: string, version: string): string {
    return path.join(this.imageDir(name), version);
  }
}
