/**
 * The images ports without buildah, debootstrap or zip files: managed bases, the artifact
 * unpacker and the builder work on the shared MemFs. An artifact URI containing
 * FAILING_ARTIFACT_MARK builds with BUILD_FAILED; one containing BAD_ARTIFACT_MARK is refused
 * by precheck and unpack (ARTIFACT_INVALID). Faults are injectable per method. Test-only.
 */
import type {
  ArtifactSource, ArtifactUnpacker, BaseImageProgressFn, BuildRequest, BuiltImage, ImageBuilder, ImageConfig,
  ManagedImageDef, ManagedImageInfo, ManagedImageStore, UnpackedArtifact,
} from '../../../src/core/ports/images.js';
import { CubbyError } from '../../../src/errors/index.js';
import { Faults } from './faults.js';
import { MemFs } from './mem-fs.js';

export const FAILING_ARTIFACT_MARK = 'fail-build';
export const BAD_ARTIFACT_MARK = 'bad-artifact';

const CREATED = '2026-01-01T00:00:00.000Z';

/** name -> versions built on the fake host (the newest last); the catalog's current version is the last. */
export const FAKE_MANAGED: Record<string, { versions: string[]; deprecated: string[] }> = {
  'debian-12-python': { versions: ['1.0', '1.1', '1.2'], deprecated: ['1.0'] },
  'debian-12-node': { versions: ['1.0'], deprecated: [] },
  'debian-12-base': { versions: ['1.0'], deprecated: [] },
};

export class FakeManagedImages implements ManagedImageStore {
  readonly faults = new Faults();

  constructor(readonly fs: MemFs = new MemFs(), private readonly built = FAKE_MANAGED) {
    for (const [name, b] of Object.entries(built)) for (const v of b.versions) fs.mkdirp(this.rootfs(name, v));
  }

  private rootfs(name: string, version: string): string { return `/var/cache/cubby/images/${name}/${version}/rootfs`; }

  catalog(): ManagedImageDef[] {
    return Object.entries(this.built).map(([name, b]) => ({ name, version: b.versions.at(-1) ?? '1.0', description: `fake ${name}`, packages: [] }));
  }

  private info(name: string, version: string): ManagedImageInfo {
    const deprecated = this.built[name]?.deprecated.includes(version) ?? false;
    return { name, version, status: deprecated ? 'DEPRECATED' : 'AVAILABLE', createdAt: CREATED, sizeBytes: 1 << 20, packages: [], rootfs: this.rootfs(name, version) };
  }

  list(): Promise<ManagedImageInfo[]> {
    return this.faults.run('list', undefined, () => Object.entries(this.built).flatMap(([n, b]) => b.versions.map((v) => this.info(n, v))));
  }

  ensure(name: string, version?: string, onProgress?: BaseImageProgressFn): Promise<ManagedImageInfo> {
    return this.faults.run('ensure', { name, version }, () => {
      const info = this.find(name, version);
      onProgress?.({ phase: 'cached' });
      return info;
    });
  }

  resolve(name: string, version?: string): Promise<ManagedImageInfo> {
    return this.faults.run('resolve', { name, version }, () => this.find(name, version));
  }

  private find(name: string, version?: string): ManagedImageInfo {
    const b = this.built[name];
    const v = version ?? b?.versions.at(-1);
    if (!b || !v || !b.versions.includes(v)) throw new CubbyError('IMAGE_BASE_NOT_FOUND', `managed image ${name}${version ? `:${version}` : ''} is not built on this host`);
    return this.info(name, v);
  }
}

function uriOf(source: ArtifactSource): string {
  return typeof source === 'string' ? source : `upload:${source.length}`;
}

export class FakeUnpacker implements ArtifactUnpacker {
  readonly faults = new Faults();

  constructor(readonly fs: MemFs = new MemFs()) {}

  unpack(source: ArtifactSource, targetDir: string): Promise<UnpackedArtifact> {
    return this.faults.run('unpack', source, () => {
      const uri = uriOf(source);
      if (uri.includes(BAD_ARTIFACT_MARK)) throw new CubbyError('ARTIFACT_INVALID', `artifact ${uri} is not a zip with a Dockerfile at its root`);
      if (this.fs.list(targetDir).length) throw new CubbyError('CUBBY_VALIDATION', `${targetDir} is not empty`);
      const dockerfile = `${targetDir}/Dockerfile`;
      this.fs.write(dockerfile, `# from ${uri}\nFROM debian-12-python\nCMD ["python3", "app.py"]\n`);
      this.fs.write(`${targetDir}/app.py`, 'print("hello")\n');
      return { dir: targetDir, dockerfile, files: 2, bytes: this.fs.size(targetDir) };
    });
  }

  precheck(source: ArtifactSource, base: { name: string; version?: string }, managedNames: readonly string[]): Promise<void> {
    return this.faults.run('precheck', source, () => {
      const uri = uriOf(source);
      if (uri.includes(BAD_ARTIFACT_MARK)) throw new CubbyError('ARTIFACT_INVALID', `artifact ${uri} is not a zip with a Dockerfile at its root`);
      if (!managedNames.includes(base.name)) throw new CubbyError('IMAGE_BASE_NOT_FOUND', `${base.name} is not a managed image`);
    });
  }
}

export const FAKE_IMAGE_CONFIG: ImageConfig = { entrypoint: [], cmd: ['python3', 'app.py'], env: { APP: 'fake' }, workdir: '/app', exposedPorts: [8080] };

export class FakeBuilder implements ImageBuilder {
  readonly faults = new Faults();
  /** The config built images get (tests may change it, e.g. to no CMD). */
  config: ImageConfig = { ...FAKE_IMAGE_CONFIG };

  constructor(readonly fs: MemFs = new MemFs()) {}

  build(req: BuildRequest): Promise<BuiltImage> {
    return this.faults.run('build', req, () => {
      const dockerfile = this.fs.read(`${req.contextDir}/Dockerfile`)?.toString();
      if (dockerfile === undefined) throw new CubbyError('DOCKERFILE_INVALID', 'the build context has no Dockerfile at its root');
      if (this.fs.exists(req.outputDir)) throw new CubbyError('CUBBY_VALIDATION', `${req.outputDir} already exists`);
      const log = [`STEP 1/2: FROM ${req.base.name}`, 'STEP 2/2: CMD'];
      for (const l of log) req.onLog?.(l);
      if (dockerfile.includes(FAILING_ARTIFACT_MARK)) {
        req.onLog?.('error: RUN step exited with 1');
        throw new CubbyError('BUILD_FAILED', 'Dockerfile build failed', { details: { log: [...log, 'error: RUN step exited with 1'].join('\n') } });
      }
      this.fs.mkdirp(req.outputDir);
      this.fs.write(`${req.outputDir}/app/app.py`, 'print("hello")\n');
      return {
        rootfs: req.outputDir, config: { ...this.config }, base: { name: req.base.name, version: req.base.version ?? '1.2' },
        sizeBytes: this.fs.size(req.outputDir), log: log.join('\n'), durationMs: 1,
      };
    });
  }
}
