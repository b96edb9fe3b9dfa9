/**
 * Images, versions and builds on behalf of tenants. Creating or updating an image records a
 * PENDING version and build at once and builds in the background (BuildPipeline); a version
 * that running microVMs use cannot be deleted, and a new version never touches older ones.
 */
import { createHash } from 'node:crypto';
import type { Image, ImageBuild, ImageSettings, ImageVersion, Page, PageRequest } from '../model.js';
import type { Caller, CreateImageInput, ImagesService, ManagedImage, VersionAgent } from '../services.js';
import type { Store, StoreOps } from '../ports/store.js';
import type { ArtifactUnpacker, ManagedImageStore } from '../ports/images.js';
import type { Logger } from '../ports/observer.js';
import type { DiskPort } from '../ports/disk.js';
import { CubbyError, errors } from '../../errors/index.js';
import { FairQueue } from '../quotas/fair-queue.js';
import type { QuotaService } from '../quotas/service.js';
import type { BuildPipeline } from './pipeline.js';
import { agentDigest, buildLogPath, failVersion, readVersionAgent, versionDir } from './version-files.js';
import { checkBuildCaps, type BuildCapLimits } from './build-caps.js';
import type { Launcher } from '../launch/launcher.js';
import { LIVE_STATES } from '../microvms/state-machine.js';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$/;

export interface ImagesDeps {
  store: Store;
  managed: ManagedImageStore;
  /** Checks a request's artifact before anything is recorded (the build unpacks it). */
  unpacker: ArtifactUnpacker;
  pipeline: BuildPipeline;
  launcher: Launcher;
  disk: DiskPort;
  imagesRoot: string;
  log: Logger;
  /** Builds at once (each runs buildah and a sandbox). */
  buildConcurrency?: number;
  /** The operator's maximum build caps (default: build-caps.ts). */
  buildLimits?: BuildCapLimits;
  /** Per-tenant quotas (concurrent builds); absent: no per-tenant limit. */
  quotas?: QuotaService;
  /** Host path of the current in-sandbox agent binary (content-addressed), if any. */
  agentBinary?: string;
}

function hashOf(x: unknown): string {
  return createHash('sha256').update(JSON.stringify(x)).digest('hex');
}

export class ImagesServiceImpl implements ImagesService {
  /** Build slots go round-robin over tenants, so one tenant's queue cannot starve another's. */
  private readonly builds: FairQueue;
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly d: ImagesDeps) {
    this.builds = new FairQueue(d.buildConcurrency ?? 1);
  }

  private checkSettings(s: ImageSettings): void {
    if (!this.d.managed.catalog().some((m) => m.name === s.baseImage)) {
      throw new CubbyError(
        'IMAGE_BASE_NOT_FOUND',
        `base image ${s.baseImage} is not a managed image (have: ${this.d.managed
          .catalog()
          .map((m) => m.name)
          .join(', ')})`,
      );
    }
    checkBuildCaps(s.build, this.d.buildLimits);
  }

  /**
   * A local artifact that cannot build (no Dockerfile, a FROM other than the requested base, ...)
   * is refused now, as a validation error, not recorded as a build bound to fail. A replay of an
   * idempotent request is not checked again: it answers what the first call recorded.
   */
  private async precheckArtifact(
    tenantId: string,
    s: ImageSettings,
    replayOf?: { operation: string; clientToken?: string | undefined },
  ): Promise<void> {
    if (
      replayOf?.clientToken &&
      (await this.d.store.getIdempotency({ tenantId, operation: replayOf.operation, clientToken: replayOf.clientToken }))
    )
      return;
    const base = { name: s.baseImage, ...(s.baseImageVersion ? { version: s.baseImageVersion } : {}) };
    await this.d.unpacker.precheck(
      s.codeArtifactUri,
      base,
      this.d.managed.catalog().map((m) => m.name),
      { tenantId },
    );
  }

  private async image(caller: Caller, name: string): Promise<Image> {
    const img = await this.d.store.getImageByName(caller.tenant.id, name);
    if (!img || img.state === 'DELETED') throw errors.imageNotFound(name);
    return img;
  }

  /** Records a PENDING version + build (in the caller's transaction) and returns them. */
  private async addVersion(t: StoreOps, img: Image, settings: ImageSettings): Promise<{ version: ImageVersion; build: ImageBuild }> {
    const version = await t.insertVersion({ imageId: img.id, tenantId: img.tenantId, state: 'PENDING', status: 'ACTIVE', settings });
    const build = await t.insertBuild({ imageId: img.id, tenantId: img.tenantId, version: version.version, state: 'PENDING' });
    return { version, build };
  }

  /**
   * Runs fn (which records a PENDING build) once the tenant has a free build under its quota;
   * check and record are one admission step, so two requests cannot both take the last one. A
   * replay of an idempotent request records nothing new and is not checked.
   */
  private async admitBuild<T>(
    tenantId: string,
    replay: { operation: string; clientToken?: string | undefined },
    fn: () => Promise<T>,
  ): Promise<T> {
    const q = this.d.quotas;
    if (!q) return fn();
    return q.admit(async () => {
      const replayed =
        replay.clientToken &&
        (await this.d.store.getIdempotency({ tenantId, operation: replay.operation, clientToken: replay.clientToken }));
      if (!replayed) await q.checkBuild(tenantId);
      return fn();
    });
  }

  private startBuild(version: ImageVersion, build: ImageBuild): void {
    const p = this.builds.run(version.tenantId, () => this.d.pipeline.run(version, build)).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  async create(caller: Caller, input: CreateImageInput): Promise<{ image: Image; version: ImageVersion }> {
    if (!NAME.test(input.name))
      throw new CubbyError('CUBBY_VALIDATION', 'image name must be 1-64 letters, digits, - or _, starting with a letter or digit');
    this.checkSettings(input.settings);
    const tenantId = caller.tenant.id;
    await this.precheckArtifact(tenantId, input.settings, { operation: 'CreateMicrovmImage', clientToken: input.clientToken });
    let made: { version: ImageVersion; build: ImageBuild } | undefined;
    const create = async (t: StoreOps): Promise<string> => {
      const img = await t.insertImage({ tenantId, name: input.name, state: 'CREATING' });
      made = await this.addVersion(t, img, input.settings);
      if (input.tags && Object.keys(input.tags).length) await t.setTags(tenantId, 'image', img.id, input.tags);
      return img.id;
    };
    const clientToken = input.clientToken;
    const imageId = await this.admitBuild(tenantId, { operation: 'CreateMicrovmImage', clientToken }, async () =>
      clientToken
        ? (
            await this.d.store.idempotent(
              { tenantId, operation: 'CreateMicrovmImage', clientToken },
              hashOf({ ...input, clientToken: undefined }),
              create,
            )
          ).resultRef
        : this.d.store.tx(create),
    );
    if (made) this.startBuild(made.version, made.build);
    const image = await this.d.store.getImage(tenantId, imageId);
    if (!image) throw errors.imageNotFound(input.name);
    const version = made?.version ?? (await this.d.store.listVersions(tenantId, imageId, { maxResults: 1 })).items[0];
    if (!version) throw new CubbyError('CUBBY_INTERNAL', 'image without a version');
    return { image, version };
  }

  async update(
    caller: Caller,
    name: string,
    settings: ImageSettings,
    clientToken?: string,
  ): Promise<{ image: Image; version: ImageVersion }> {
    this.checkSettings(settings);
    const tenantId = caller.tenant.id;
    const img = await this.image(caller, name);
    if (img.state === 'DELETING') throw errors.imageDeleting(name);
    await this.precheckArtifact(tenantId, settings, { operation: 'UpdateMicrovmImage', clientToken });
    let made: { version: ImageVersion; build: ImageBuild } | undefined;
    const update = async (t: StoreOps): Promise<string> => {
      made = await this.addVersion(t, img, settings);
      await t.updateImage(tenantId, img.id, { state: 'UPDATING' });
      return `${img.id}@${made.version.version}`;
    };
    const ref = await this.admitBuild(tenantId, { operation: 'UpdateMicrovmImage', clientToken }, async () =>
      clientToken
        ? (await this.d.store.idempotent({ tenantId, operation: 'UpdateMicrovmImage', clientToken }, hashOf({ name, settings }), update))
            .resultRef
        : this.d.store.tx(update),
    );
    if (made) this.startBuild(made.version, made.build);
    const v = ref.split('@')[1] ?? '';
    const version = await this.d.store.getVersion(tenantId, img.id, v);
    const image = await this.d.store.getImage(tenantId, img.id);
    if (!version || !image) throw errors.imageNotFound(name);
    return { image, version };
  }

  private async refuseIfInUse(tenantId: string, imageId: string, version: string | undefined, what: string): Promise<void> {
    const n = await this.d.store.countMicrovms({ tenantId, imageId, version, states: LIVE_STATES });
    if (n > 0) throw new CubbyError('IMAGE_IN_USE', `${what} is used by ${n} microVM(s); terminate them first`);
  }

  async delete(caller: Caller, name: string): Promise<Image> {
    const img = await this.image(caller, name);
    await this.refuseIfInUse(caller.tenant.id, img.id, undefined, `image ${name}`);
    const building = (await this.d.store.listVersions(caller.tenant.id, img.id, { maxResults: 100 })).items.some(
      (v) => v.state === 'PENDING' || v.state === 'IN_PROGRESS',
    );
    if (building) throw new CubbyError('IMAGE_IN_USE', `image ${name} has a build in progress; delete it when the build ends`);
    await this.d.store.updateImage(caller.tenant.id, img.id, { state: 'DELETING' });
    await this.d.launcher.drop(img.id);
    await this.d.disk.remove(this.d.disk.join(this.d.imagesRoot, img.id));
    await this.d.store.deleteImage(caller.tenant.id, img.id);
    return { ...img, state: 'DELETED', updatedAt: new Date() };
  }

  get(caller: Caller, name: string): Promise<Image> {
    return this.image(caller, name);
  }

  list(caller: Caller, page: PageRequest & { nameFilter?: string }): Promise<Page<Image>> {
    return this.d.store.listImages(caller.tenant.id, page);
  }

  async getVersion(caller: Caller, name: string, version: string): Promise<ImageVersion> {
    const img = await this.image(caller, name);
    const v = await this.d.store.getVersion(caller.tenant.id, img.id, version);
    if (!v) throw errors.imageVersionNotFound(name, version);
    return v;
  }

  async listVersions(caller: Caller, name: string, page: PageRequest): Promise<Page<ImageVersion>> {
    const img = await this.image(caller, name);
    return this.d.store.listVersions(caller.tenant.id, img.id, page);
  }

  async setVersionStatus(caller: Caller, name: string, version: string, status: 'ACTIVE' | 'INACTIVE'): Promise<ImageVersion> {
    const v = await this.getVersion(caller, name, version);
    const out = await this.d.store.updateVersion(caller.tenant.id, v.imageId, version, { status });
    if (status === 'INACTIVE') await this.d.launcher.drop(v.imageId, version);
    const latest = await this.d.store.findLatestVersion(caller.tenant.id, v.imageId, { states: ['SUCCESSFUL'], status: 'ACTIVE' });
    await this.d.store.updateImage(caller.tenant.id, v.imageId, { latestActiveVersion: latest?.version ?? null });
    return out;
  }

  async deleteVersion(caller: Caller, name: string, version: string): Promise<ImageVersion> {
    const v = await this.getVersion(caller, name, version);
    if (v.state === 'PENDING' || v.state === 'IN_PROGRESS')
      throw new CubbyError('IMAGE_IN_USE', `version ${version} of ${name} is still building`);
    await this.refuseIfInUse(caller.tenant.id, v.imageId, version, `version ${version} of image ${name}`);
    await this.d.launcher.drop(v.imageId, version);
    await this.d.disk.remove(versionDir(this.d, v.imageId, version));
    await this.d.store.deleteVersion(caller.tenant.id, v.imageId, version);
    const latest = await this.d.store.findLatestVersion(caller.tenant.id, v.imageId, { states: ['SUCCESSFUL'], status: 'ACTIVE' });
    await this.d.store.updateImage(caller.tenant.id, v.imageId, { latestActiveVersion: latest?.version ?? null });
    return { ...v, state: 'DELETED', updatedAt: new Date() };
  }

  async getBuild(caller: Caller, name: string, version: string, buildId: string): Promise<ImageBuild> {
    const v = await this.getVersion(caller, name, version);
    const b = await this.d.store.getBuild(caller.tenant.id, buildId);
    if (!b || b.imageId !== v.imageId || b.version !== version) throw errors.imageBuildNotFound(buildId);
    return b;
  }

  async listBuilds(caller: Caller, name: string, version: string, page: PageRequest): Promise<Page<ImageBuild>> {
    const v = await this.getVersion(caller, name, version);
    return this.d.store.listBuilds(caller.tenant.id, v.imageId, version, page);
  }

  async buildLog(caller: Caller, name: string, version: string, buildId?: string): Promise<string> {
    const v = await this.getVersion(caller, name, version);
    const b = buildId
      ? await this.getBuild(caller, name, version, buildId)
      : (await this.d.store.listBuilds(caller.tenant.id, v.imageId, version, { maxResults: 100 })).items.at(-1);
    if (!b) throw new CubbyError('IMAGE_BUILD_NOT_FOUND', `version ${version} of ${name} has no build`);
    return (await this.d.disk.read(b.logPath ?? buildLogPath(this.d, b))) ?? '';
  }

  async listManaged(page: PageRequest): Promise<Page<ManagedImage>> {
    const all = await this.managedInfos();
    const start = page.nextToken ? Number(Buffer.from(page.nextToken, 'base64url').toString()) : 0;
    if (!Number.isInteger(start) || start < 0 || start > all.length) throw new CubbyError('CUBBY_VALIDATION', 'invalid nextToken');
    const n = page.maxResults ?? 50;
    const items = all.slice(start, start + n);
    return { items, nextToken: start + n < all.length ? Buffer.from(String(start + n)).toString('base64url') : undefined };
  }

  async getManaged(name: string): Promise<ManagedImage> {
    const m = (await this.managedInfos()).find((x) => x.name === name);
    if (!m) throw new CubbyError('IMAGE_BASE_NOT_FOUND', `managed image ${name} not found`);
    return m;
  }

  /** The catalog, with the versions built on this host (a catalog entry not yet built is listed with none). */
  private async managedInfos(): Promise<ManagedImage[]> {
    const built = await this.d.managed.list();
    return this.d.managed.catalog().map((def) => {
      const versions = built
        .filter((b) => b.name === def.name)
        .map((b) => ({ version: b.version, status: b.status, createdAt: new Date(b.createdAt) }));
      const first = versions.map((v) => v.createdAt).sort((a, b) => a.getTime() - b.getTime())[0];
      return { name: def.name, versions, createdAt: first ?? new Date(0) };
    });
  }

  async versionAgent(caller: Caller, name: string, version: string): Promise<VersionAgent | undefined> {
    const v = await this.getVersion(caller, name, version);
    return this.agentOf(v);
  }

  private async agentOf(v: ImageVersion): Promise<VersionAgent | undefined> {
    if (!v.settings.agent) return undefined;
    const binary = await readVersionAgent(this.d, v.imageId, v.version);
    const host = this.d.agentBinary;
    const sha256 = binary ? agentDigest(binary) : undefined;
    // By content address, not path: a moved data directory still holds the same agent.
    const current = sha256 !== undefined && host !== undefined && sha256 === agentDigest(host);
    return { ...(binary ? { binary } : {}), ...(sha256 ? { sha256 } : {}), ...(host ? { host } : {}), current };
  }

  /**
   * Logs how many active versions with the agent were snapshotted with another agent than the
   * host's: they keep restoring their own (managed E2B templates are rebuilt on use; users' images
   * only when their owner updates them, as a rebuild would reset the app's state).
   */
  async reportAgentVersions(): Promise<{ stale: number; current: number }> {
    let stale = 0;
    let current = 0;
    if (!this.d.agentBinary) return { stale, current };
    for (const v of await this.d.store.listVersionsByState(['SUCCESSFUL'])) {
      if (v.status !== 'ACTIVE') continue;
      const a = await this.agentOf(v);
      if (!a) continue;
      if (a.current) current++;
      else stale++;
    }
    if (stale > 0)
      this.d.log.warn(
        { stale, current, agent: this.d.agentBinary },
        'image versions with the in-sandbox agent carry an older agent; update those images to take the current one',
      );
    return { stale, current };
  }

  /** Builds interrupted by a daemon restart are marked FAILED (the owner can update the image again). */
  async reconcile(): Promise<void> {
    for (const b of await this.d.store.listBuildsByState(['PENDING', 'IN_PROGRESS'])) {
      // What the cut build wrote (context, a ~200 MB rootfs, a partial snapshot) goes; its log stays.
      await failVersion(this.d, b, 'build interrupted by a daemon restart; update the image to build again').catch((e: unknown) =>
        this.d.log.error({ build: b.id, err: String(e) }, 'could not record an interrupted build'),
      );
    }
  }

  /** Waits for running builds (shutdown, tests). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }
}
