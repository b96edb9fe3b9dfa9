/**
 * An in-memory SandboxRuntime: sandboxes are records (state, address, private files, console
 * log), checkpoints are files in the shared MemFs. It honours the runtime contract's semantic
 * part (test/runtime/contract-semantic.ts) and adds what tests need: injectable faults, gates
 * and crash points per operation (`faults`, op names = method names), and ways to make a
 * sandbox's app die (`kill`) or vanish (`vanish`). The state lives in a FakeHost, so a second
 * FakeRuntime over the same host is "the runtime after a daemon restart". Test-only.
 */
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type {
  CheckpointInfo,
  CheckpointOptions,
  ExecHandle,
  ExecOptions,
  ExitStatus,
  RestoreSpec,
  RunResult,
  SandboxInfo,
  SandboxRuntime,
  SandboxSpec,
  SandboxState,
  SandboxStats,
  SweepReport,
} from '../../../src/core/ports/runtime.js';
import { SANDBOX_ID_PATTERN } from '../../../src/core/ports/runtime.js';
import type { EgressPolicy } from '../../../src/core/ports/network.js';
import { CubbyError } from '../../../src/errors/index.js';
import { Faults } from './faults.js';
import { MemFs } from './mem-fs.js';
import { runScript, scriptOf, startupOutput } from './fake-shell.js';

const MANIFEST = 'fake-checkpoint.json';
const PAGES = 'pages.img';

export interface FakeSandbox {
  id: string;
  state: SandboxState;
  address: string;
  rootfs: string;
  process: SandboxSpec['process'];
  egress: EgressPolicy;
  labels: Record<string, string>;
  createdAt: Date;
  /** CPU it burns, ms per second (an idle gVisor sandbox: ~20-50); see setLoad. */
  cpuMsPerSecond?: number;
  /** CPU seconds burnt before the last setLoad. */
  cpuBase?: { seconds: number; at: number };
  /** The private writable layer: path -> contents. */
  files: Map<string, string>;
  log: string;
  logLimitBytes: number;
  restoredFrom?: string;
}

interface Manifest {
  rootfs: string;
  process: SandboxSpec['process'];
  egress: EgressPolicy;
  labels: Record<string, string>;
  files: Array<[string, string]>;
  log: string;
  digest: string;
}

/** What outlives a runtime instance: the sandboxes and the disk. */
export class FakeHost {
  readonly sandboxes = new Map<string, FakeSandbox>();
  private nextAddress = 2;

  constructor(readonly fs: MemFs = new MemFs()) {}

  /** Loopback addresses only: nothing ever connects to them except fakes. */
  allocateAddress(): string {
    const n = this.nextAddress;
    this.nextAddress += 4;
    return `127.77.${Math.floor(n / 256) % 256}.${n % 256}`;
  }
}

const IDLE_CPU_MS_PER_SECOND = 20;

function cpuSecondsOf(s: FakeSandbox, now: number): number {
  const base = s.cpuBase ?? { seconds: 0.01, at: s.createdAt.getTime() };
  return base.seconds + ((now - base.at) / 1000) * ((s.cpuMsPerSecond ?? IDLE_CPU_MS_PER_SECOND) / 1000);
}

function checkId(id: string): void {
  if (!SANDBOX_ID_PATTERN.test(id)) throw new CubbyError('RUNTIME_BAD_ID', `sandbox id must match ${SANDBOX_ID_PATTERN}`);
}

function digest(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export class FakeRuntime implements SandboxRuntime {
  readonly name = 'fake';
  readonly faults = new Faults();
  readonly fs: MemFs;

  constructor(readonly host: FakeHost = new FakeHost()) {
    this.fs = host.fs;
  }

  // ---- test controls

  /** The sandbox's main process exits (state stopped), as when the app crashes. */
  kill(id: string): void {
    const s = this.host.sandboxes.get(id);
    if (s) s.state = 'stopped';
  }

  /** The sandbox disappears without a trace, as after a host reboot. */
  vanish(id: string): void {
    this.host.sandboxes.delete(id);
  }

  /** Ids of sandboxes in the given states (default: any). */
  ids(...states: SandboxState[]): string[] {
    return [...this.host.sandboxes.values()].filter((s) => !states.length || states.includes(s.state)).map((s) => s.id);
  }

  // ---- the port

  private info(s: FakeSandbox): SandboxInfo {
    return { id: s.id, state: s.state, address: s.address, rootfs: s.rootfs, createdAt: s.createdAt, labels: { ...s.labels } };
  }

  private existing(id: string, what: string): FakeSandbox {
    const s = this.host.sandboxes.get(id);
    if (!s) throw new CubbyError('RUNTIME_NOT_FOUND', `cannot ${what} sandbox ${id}: it does not exist`);
    return s;
  }

  private claim(id: string): void {
    checkId(id);
    if (this.host.sandboxes.has(id)) throw new CubbyError('RUNTIME_DUPLICATE_ID', `a sandbox with id ${id} already exists`);
  }

  private appendLog(s: FakeSandbox, text: string): void {
    s.log = (s.log + text).slice(-s.logLimitBytes);
  }

  create(spec: SandboxSpec): Promise<SandboxInfo> {
    return this.faults.run('create', spec, () => {
      checkId(spec.id);
      if (!spec.process?.args?.length) throw new CubbyError('CUBBY_VALIDATION', 'process.args must name a program');
      if (!spec.rootfs.startsWith('/') || !this.fs.isDir(spec.rootfs))
        throw new CubbyError('RUNTIME_ROOTFS_MISSING', `root filesystem ${spec.rootfs} does not exist`);
      this.claim(spec.id);
      const s: FakeSandbox = {
        id: spec.id,
        state: 'running',
        address: this.host.allocateAddress(),
        rootfs: spec.rootfs,
        process: spec.process,
        egress: spec.egress ?? { mode: 'closed' },
        labels: { ...(spec.labels ?? {}) },
        createdAt: new Date(),
        files: new Map(),
        log: '',
        logLimitBytes: spec.logLimitBytes ?? 1 << 20,
      };
      this.appendLog(s, startupOutput(spec.process.args));
      this.host.sandboxes.set(s.id, s);
      return this.info(s);
    });
  }

  private runNow(id: string, opts: ExecOptions & { input?: string | Buffer }): RunResult {
    const s = this.existing(id, 'exec in');
    if (s.state !== 'running') throw new CubbyError('RUNTIME_BAD_STATE', `cannot exec in sandbox ${id}: it is ${s.state}`);
    const r = runScript(scriptOf(opts.args), s.files, opts.input?.toString() ?? '');
    return { code: r.code, signal: null, stdout: Buffer.from(r.stdout), stderr: Buffer.from(r.stderr) };
  }

  exec(id: string, opts: ExecOptions): Promise<ExecHandle> {
    return this.faults.run('exec', { id, opts }, () => {
      const r = this.runNow(id, opts);
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const stdin = new PassThrough();
      let settle!: (s: ExitStatus) => void;
      const exit = new Promise<ExitStatus>((res) => {
        settle = res;
      });
      setImmediate(() => {
        stdout.end(r.stdout);
        stderr.end(r.stderr);
        settle({ code: r.code, signal: null });
      });
      return { stdout, stderr, stdin, exit, resize() {}, kill: (sig) => settle({ code: null, signal: sig ?? 'SIGTERM' }) };
    });
  }

  run(id: string, opts: ExecOptions & { input?: string | Buffer; timeoutMs?: number }): Promise<RunResult> {
    return this.faults.run('run', { id, opts }, () => this.runNow(id, opts));
  }

  pause(id: string): Promise<void> {
    return this.faults.run('pause', id, () => {
      const s = this.existing(id, 'pause');
      if (s.state !== 'running') throw new CubbyError('RUNTIME_BAD_STATE', `cannot pause sandbox ${id}: it is ${s.state}`);
      s.state = 'paused';
    });
  }

  resume(id: string): Promise<void> {
    return this.faults.run('resume', id, () => {
      const s = this.host.sandboxes.get(id);
      if (s?.state !== 'paused') throw new CubbyError('RUNTIME_BAD_STATE', `sandbox ${id} is ${s?.state ?? 'gone'}, not paused`);
      s.state = 'running';
    });
  }

  freeze(id: string): Promise<void> {
    return this.faults.run('freeze', id, () => {
      const s = this.existing(id, 'freeze');
      if (s.state === 'frozen') return;
      if (s.state !== 'running') throw new CubbyError('RUNTIME_BAD_STATE', `cannot freeze sandbox ${id}: it is ${s.state}`);
      s.state = 'frozen';
    });
  }

  thaw(id: string): Promise<void> {
    return this.faults.run('thaw', id, () => {
      const s = this.existing(id, 'thaw');
      if (s.state === 'frozen') s.state = 'running';
    });
  }

  checkpoint(id: string, dir: string, opts: CheckpointOptions = {}): Promise<CheckpointInfo> {
    return this.faults.run('checkpoint', { id, dir }, () => {
      const s = this.existing(id, 'checkpoint');
      if (s.state !== 'running' && s.state !== 'paused')
        throw new CubbyError('RUNTIME_BAD_STATE', `cannot checkpoint sandbox ${id}: it is ${s.state}`);
      if (this.fs.list(dir).length > 0) throw new CubbyError('CUBBY_VALIDATION', `checkpoint directory ${dir} is not empty`);
      this.fs.mkdirp(dir);
      const pages = Buffer.from(JSON.stringify([...s.files]).padEnd(4096, ' '));
      const m: Manifest = {
        rootfs: s.rootfs,
        process: s.process,
        egress: s.egress,
        labels: s.labels,
        files: [...s.files],
        log: s.log,
        digest: digest(pages),
      };
      this.fs.write(`${dir}/${PAGES}`, pages);
      this.fs.write(`${dir}/${MANIFEST}`, JSON.stringify(m));
      if (!opts.leaveRunning) s.state = 'stopped';
      return { dir, sizeBytes: this.fs.size(dir) };
    });
  }

  private manifest(dir: string): Manifest {
    const raw = this.fs.read(`${dir}/${MANIFEST}`);
    if (!raw) throw new CubbyError('RUNTIME_CHECKPOINT_MISSING', `no checkpoint in ${dir}`);
    let m: Manifest;
    try {
      m = JSON.parse(raw.toString()) as Manifest;
    } catch {
      throw new CubbyError('RUNTIME_CHECKPOINT_CORRUPT', `checkpoint manifest in ${dir} is damaged`);
    }
    const pages = this.fs.read(`${dir}/${PAGES}`);
    if (!pages || digest(pages) !== m.digest)
      throw new CubbyError('RUNTIME_CHECKPOINT_CORRUPT', `checkpoint ${dir}: memory pages do not match their digest`);
    return m;
  }

  restore(spec: RestoreSpec): Promise<SandboxInfo> {
    return this.faults.run('restore', spec, () => {
      checkId(spec.id);
      const m = this.manifest(spec.checkpointDir);
      if (!this.fs.isDir(m.rootfs)) throw new CubbyError('RUNTIME_ROOTFS_MISSING', `root filesystem ${m.rootfs} does not exist`);
      this.claim(spec.id);
      const s: FakeSandbox = {
        id: spec.id,
        state: 'running',
        address: this.host.allocateAddress(),
        rootfs: m.rootfs,
        process: m.process,
        egress: spec.egress ?? m.egress,
        labels: { ...m.labels, ...(spec.labels ?? {}) },
        createdAt: new Date(),
        files: new Map(m.files),
        log: '',
        logLimitBytes: spec.logLimitBytes ?? 1 << 20,
        restoredFrom: spec.checkpointDir,
      };
      this.appendLog(s, m.log);
      this.host.sandboxes.set(s.id, s);
      return this.info(s);
    });
  }

  sealCheckpoint(dir: string): Promise<void> {
    return this.faults.run('sealCheckpoint', dir, () => undefined);
  }

  inspectCheckpoint(dir: string): Promise<CheckpointInfo> {
    return this.faults.run('inspectCheckpoint', dir, () => {
      this.manifest(dir);
      return { dir, sizeBytes: this.fs.size(dir) };
    });
  }

  destroy(id: string): Promise<void> {
    return this.faults.run('destroy', id, () => {
      checkId(id);
      if (!this.host.sandboxes.delete(id)) throw new CubbyError('RUNTIME_NOT_FOUND', `no sandbox ${id}`);
    });
  }

  get(id: string): Promise<SandboxInfo | undefined> {
    return this.faults.run('get', id, () => {
      const s = this.host.sandboxes.get(id);
      return s ? this.info(s) : undefined;
    });
  }

  address(id: string): Promise<string | undefined> {
    return this.faults.run('address', id, () => this.host.sandboxes.get(id)?.address);
  }

  list(): Promise<SandboxInfo[]> {
    return this.faults.run('list', undefined, () => [...this.host.sandboxes.values()].map((s) => this.info(s)));
  }

  /** The sandbox's app now burns `msPerSecond` of CPU (a background job without traffic). */
  setLoad(id: string, msPerSecond: number): void {
    const s = this.existing(id, 'set the load of');
    const now = Date.now();
    s.cpuBase = { seconds: cpuSecondsOf(s, now), at: now };
    s.cpuMsPerSecond = msPerSecond;
  }

  stats(id: string): Promise<SandboxStats> {
    return this.faults.run('stats', id, () => {
      const s = this.existing(id, 'read stats of');
      if (s.state === 'stopped') throw new CubbyError('RUNTIME_BAD_STATE', `cannot read stats of sandbox ${id}: it is stopped`);
      return { memoryBytes: 64 << 20, cpuSeconds: cpuSecondsOf(s, Date.now()) };
    });
  }

  logs(id: string): Promise<Buffer> {
    return this.faults.run('logs', id, () => Buffer.from(this.existing(id, 'read the log of').log));
  }

  recover(): Promise<void> {
    return this.faults.run('recover', undefined, () => undefined);
  }

  sweep(keep: (id: string) => boolean): Promise<SweepReport> {
    return this.faults.run('sweep', undefined, () => {
      const gone = [...this.host.sandboxes.keys()].filter((id) => !keep(id));
      for (const id of gone) this.host.sandboxes.delete(id);
      return { sandboxes: gone, other: [] };
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Damages a checkpoint's memory pages (same size check would still fail on the digest). */
  corruptCheckpoint(dir: string): void {
    const pages = this.fs.read(`${dir}/${PAGES}`);
    if (pages) this.fs.write(`${dir}/${PAGES}`, pages.subarray(0, Math.floor(pages.length / 2)));
  }
}
