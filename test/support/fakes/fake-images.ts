/**
 * The images ports without buildah, debootstrap or yauzl: managed bases, the artifact unpacker
 * and the builder work on the shared MemFs, and honour the images contracts
 * (test/images/contract). Zip bytes are unpacked for real (fake-zip.ts); an artifact URI stands
 * for a small python app instead: one containing FAILING_ARTIFACT_MARK builds with BUILD_FAILED,
 * one containing BAD_ARTIFACT_MARK is refused by precheck and unpack (ARTIFACT_INVALID). The
 * builder reads the Dockerfile as the real one does (COPY, RUN through the fake shell, config
 * instructions). Faults are injectable per method. Test-only.
 */
import type {
  ArtifactSource,
  ArtifactUnpacker,
  BaseImageProgressFn,
  BuildRequest,
  BuiltImage,
  ImageBuilder,
  ImageConfig,
  ManagedImageDef,
  ManagedImageInfo,
  ManagedImageStore,
  UnpackedArtifact,
} from '../../../src/core/ports/images.js';
import { CubbyError } from '../../../src/errors/index.js';
import { analyzeDockerfile } from '../../../src/images/dockerfile/analyze.js';
import { checkFrom } from '../../../src/images/dockerfile/base-from.js';
import { Faults } from './faults.js';
import { runScript } from './fake-shell.js';
import { entryPath, readFakeZip, type FakeZipLimits } from './fake-zip.js';
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

  constructor(
    readonly fs: MemFs = new MemFs(),
    private readonly built = FAKE_MANAGED,
  ) {
    for (const [name, b] of Object.entries(built)) for (const v of b.versions) fs.mkdirp(this.rootfs(name, v));
  }

  private rootfs(name: string, version: string): string {
    return `/var/cache/cubby/images/${name}/${version}/rootfs`;
  }

  catalog(): ManagedImageDef[] {
    return Object.entries(this.built).map(([name, b]) => ({
      name,
      version: b.versions.at(-1) ?? '1.0',
      description: `fake ${name}`,
      packages: [],
    }));
  }

  private info(name: string, version: string): ManagedImageInfo {
    const deprecated = this.built[name]?.deprecated.includes(version) ?? false;
    return {
      name,
      version,
      status: deprecated ? 'DEPRECATED' : 'AVAILABLE',
      createdAt: CREATED,
      sizeBytes: 1 << 20,
      packages: [],
      rootfs: this.rootfs(name, version),
    };
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
    if (!b || !v || !b.versions.includes(v))
      throw new CubbyError('IMAGE_BASE_NOT_FOUND', `managed image ${name}${version ? `:${version}` : ''} is not built on this host`);
    return this.info(name, v);
  }
}

function uriOf(source: ArtifactSource): string {
  return typeof source === 'string' ? source : `upload:${source.length}`;
}

export class FakeUnpacker implements ArtifactUnpacker {
  readonly faults = new Faults();
  readonly limits: FakeZipLimits;

  constructor(
    readonly fs: MemFs = new MemFs(),
    limits: Partial<FakeZipLimits> = {},
  ) {
    this.limits = { maxEntries: 20_000, maxTotalBytes: 1024 * 1024 * 1024, ...limits };
  }

  unpack(source: ArtifactSource, targetDir: string): Promise<UnpackedArtifact> {
    return this.faults.run('unpack', source, () => {
      const uri = uriOf(source);
      if (uri.includes(BAD_ARTIFACT_MARK))
        throw new CubbyError('ARTIFACT_INVALID', `artifact ${uri} is not a zip with a Dockerfile at its root`);
      if (this.fs.list(targetDir).length) throw new CubbyError('CUBBY_VALIDATION', `${targetDir} is not empty`);
      const dockerfile = `${targetDir}/Dockerfile`;
      if (typeof source !== 'string') {
        // Real zip bytes: judged whole before anything is written, so a refusal leaves no target.
        const entries = readFakeZip(Buffer.from(source), this.limits);
        this.fs.mkdirp(targetDir);
        let bytes = 0;
        for (const e of entries) {
          if (e.dir) {
            this.fs.mkdirp(entryPath(targetDir, e));
            continue;
          }
          this.fs.write(entryPath(targetDir, e), e.data);
          bytes += e.data.length;
        }
        return { dir: targetDir, dockerfile, files: entries.filter((e) => !e.dir).length, bytes };
      }
      this.fs.write(dockerfile, `# from ${uri}\nFROM debian-12-python\nCMD ["python3", "app.py"]\n`);
      this.fs.write(`${targetDir}/app.py`, 'print("hello")\n');
      return { dir: targetDir, dockerfile, files: 2, bytes: this.fs.size(targetDir) };
    });
  }

  precheck(source: ArtifactSource, base: { name: string; version?: string }, managedNames: readonly string[]): Promise<void> {
    return this.faults.run('precheck', source, () => {
      const uri = uriOf(source);
      if (uri.includes(BAD_ARTIFACT_MARK))
        throw new CubbyError('ARTIFACT_INVALID', `artifact ${uri} is not a zip with a Dockerfile at its root`);
      if (typeof source !== 'string') {
        const dockerfile =
          readFakeZip(Buffer.from(source), this.limits)
            .find((e) => e.name === 'Dockerfile')
            ?.data.toString('utf8') ?? '';
        checkFrom(analyzeDockerfile(dockerfile).from, base, managedNames);
        return;
      }
      if (!managedNames.includes(base.name)) throw new CubbyError('IMAGE_BASE_NOT_FOUND', `${base.name} is not a managed image`);
    });
  }
}

export const FAKE_IMAGE_CONFIG: ImageConfig = {
  entrypoint: [],
  cmd: ['python3', 'app.py'],
  env: { APP: 'fake' },
  workdir: '/app',
  exposedPorts: [8080],
};

export class FakeBuilder implements ImageBuilder {
  readonly faults = new Faults();
  private override: ImageConfig | undefined;

  constructor(
    readonly fs: MemFs = new MemFs(),
    private readonly managed: readonly string[] = Object.keys(FAKE_MANAGED),
  ) {}

  /** The config built images get: read from the Dockerfile over FAKE_IMAGE_CONFIG, unless a test sets one (e.g. no CMD). */
  get config(): ImageConfig {
    return this.override ?? { ...FAKE_IMAGE_CONFIG };
  }
  set config(c: ImageConfig) {
    this.override = c;
  }

  build(req: BuildRequest): Promise<BuiltImage> {
    return this.faults.run('build', req, () => {
      const started = Date.now();
      const dockerfile = this.fs.read(`${req.contextDir}/Dockerfile`)?.toString();
      if (dockerfile === undefined) throw new CubbyError('DOCKERFILE_MISSING', `no Dockerfile in ${req.contextDir}`);
      if (this.fs.exists(req.outputDir)) throw new CubbyError('CUBBY_VALIDATION', `build output ${req.outputDir} already exists`);
      if (!this.managed.includes(req.base.name)) throw new CubbyError('IMAGE_BASE_NOT_FOUND', `unknown managed image "${req.base.name}"`);
      const summary = analyzeDockerfile(dockerfile, { buildArgs: req.buildArgs ?? {} });
      const log: string[] = [];
      const say = (l: string) => {
        log.push(l);
        req.onLog?.(l);
      };
      const failed = (why: string, message = `image build failed: ${why}`) => {
        say(`error: ${why}`);
        return new CubbyError('BUILD_FAILED', message, { details: { log: log.join('\n') } });
      };
      const steps = summary.instructions;
      const files = new Map<string, string>();
      let workdir = '/';
      const at = (p: string) => (p.startsWith('/') ? p : `${workdir.replace(/\/$/, '')}/${p}`);
      steps.forEach((ins, i) => {
        say(`STEP ${i + 1}/${steps.length}: ${ins.keyword} ${ins.args}`);
        if (ins.keyword === 'FROM' && dockerfile.includes(FAILING_ARTIFACT_MARK))
          throw failed('RUN step exited with 1', 'Dockerfile build failed');
        if (ins.keyword === 'WORKDIR') workdir = at(ins.args.trim());
        if (ins.keyword === 'COPY' || ins.keyword === 'ADD') {
          const [from = '', to = ''] = ins.args.trim().split(/\s+/);
          const data = this.fs.read(`${req.contextDir}/${from}`);
          if (!data) throw failed(`COPY: ${from} is not in the build context`);
          files.set(at(to.endsWith('/') ? `${to}${from}` : to), data.toString());
        }
        if (ins.keyword === 'RUN') {
          const scratch = new Map<string, string>();
          const r = runScript(ins.args, scratch);
          for (const l of `${r.stdout}${r.stderr}`.split('\n').filter(Boolean)) say(l);
          for (const [f, v] of scratch) files.set(at(f), v);
          if (r.code !== 0) throw failed(`RUN ${ins.args} exited with ${r.code}`);
        }
      });
      this.fs.mkdirp(req.outputDir);
      this.fs.write(`${req.outputDir}/app/app.py`, 'print("hello")\n');
      for (const [f, v] of files) this.fs.write(`${req.outputDir}${f}`, v);
      const d = FAKE_IMAGE_CONFIG;
      const config: ImageConfig = this.override
        ? { ...this.override }
        : {
            entrypoint: summary.entrypoint ?? d.entrypoint,
            cmd: summary.cmd ?? d.cmd,
            env: { ...d.env, ...summary.env },
            workdir: summary.workdir ?? d.workdir,
            exposedPorts: summary.exposedPorts.length ? summary.exposedPorts : d.exposedPorts,
            ...(summary.user ? { user: summary.user } : {}),
          };
      say(`exported rootfs to ${req.outputDir}`);
      return {
        rootfs: req.outputDir,
        config,
        base: { name: req.base.name, version: req.base.version ?? '1.2' },
        sizeBytes: this.fs.size(req.outputDir),
        log: log.join('\n'),
        durationMs: Date.now() - started,
      };
    });
  }
}
