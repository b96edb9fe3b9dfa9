/**
 * The gVisor implementation of the runtime port. Each sandbox: a runsc container with the
 * sandbox's own network stack in a private netns (from the network port), the base rootfs
 * read-only under a private overlay whose files live on the sandbox's own size-capped disk (see
 * sandbox-disk.ts; saved with checkpoints), cgroup limits, rlimits, and a bounded log.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type {
  CheckpointInfo,
  CheckpointOptions,
  ExecHandle,
  ExecOptions,
  RestoreSpec,
  RunResult,
  SandboxInfo,
  SandboxRuntime,
  SandboxSpec,
  SandboxState,
  SandboxStats,
  SweepReport,
} from '../../core/ports/runtime.js';
import { SANDBOX_ID_PATTERN } from '../../core/ports/runtime.js';
import type { NetworkPort } from '../../core/ports/network.js';
import { removeCgroupDir } from '../../util/cgroup.js';
import { CubbyError, asCubbyError } from '../../errors/index.js';
import { tail } from '../../util/command.js';
import { BoundedLog } from './bounded-log.js';
import { VerifiedFiles, completeDigests, readManifest, verifyDeferred, writeManifest } from './checkpoint-manifest.js';
import { ExecSessions } from './exec-sessions.js';
import { NetworkPool } from './network-pool.js';
import { buildOciSpec } from './oci-spec.js';
import { DISK_OVERLAY, MEMORY_OVERLAY, SandboxDisks } from './sandbox-disk.js';
import { exitReason } from './exit-reason.js';
import { Runsc } from './runsc.js';
import { killOrphanCommands, killSandboxProcesses } from './orphans.js';
import { SandboxDirs, type SandboxRecord } from './sandbox-record.js';
import { KeyedMutex } from '../../util/keyed-mutex.js';
import { FrozenSandboxes } from './frozen-sandboxes.js';
import { collect } from '../../util/streams.js';

export interface GvisorRuntimeOptions {
  /** Directory for runsc state, bundles, logs. One runtime instance owns it. */
  stateDir: string;
  network: NetworkPort;
  runscBinary?: string;
  platform?: 'systrap' | 'ptrace';
  /** Default bound of each sandbox's captured output. */
  logLimitBytes?: number;
  startTimeoutMs?: number;
  /** How often logs are trimmed to their bound. */
  logTrimIntervalMs?: number;
  /** Networks kept ready (netns, veth, rules) so create and restore skip building one. Default 2. */
  networkPoolSize?: number;
  /** Disk size of a sandbox whose limits name none. Default 4096 MiB. */
  defaultDiskBytes?: number;
  /** Host disk a new sandbox's disk may never eat into (free space minus its size). Default 2048 MiB. */
  hostDiskReserveBytes?: number;
}

const MiB = 1024 * 1024;
export const DEFAULT_DISK_BYTES = 4096 * MiB;
const BOOT_LOG = 'boot.log';

const CGROUP_ROOT = '/sys/fs/cgroup';
/** The sandbox's console log, as carried inside a checkpoint directory. */
const CONSOLE_LOG = 'console.log';

export class GvisorRuntime implements SandboxRuntime {
  readonly name = 'gvisor';
  private readonly runsc: Runsc;
  private readonly dirs: SandboxDirs;
  private readonly locks = new KeyedMutex();
  /** Memory pages already hashed and unchanged since (see VerifiedFiles). */
  private readonly verified = new VerifiedFiles();
  /** Network owners are `<tag>:<id>`: the tag tells this runtime's sandboxes from others' on the host. */
  private readonly tag: string;
  private readonly trimTimer: NodeJS.Timeout;
  private readonly execs: ExecSessions;
  private readonly netPool: NetworkPool;
  private readonly disks: SandboxDisks;
  /** Frozen sandboxes: runsc commands would block on them, so the driver answers for them. */
  private readonly frozen: FrozenSandboxes;
  /** Addresses of the sandboxes this process booted: the gateway asks on each microVM's first request (no file read then). */
  private readonly addresses = new Map<string, string>();

  constructor(private readonly opts: GvisorRuntimeOptions) {
    this.tag = createHash('sha256').update(path.resolve(opts.stateDir)).digest('hex').slice(0, 10);
    this.runsc = new Runsc({
      binary: opts.runscBinary ?? 'runsc',
      root: path.resolve(opts.stateDir, 'runsc'),
      platform: opts.platform ?? 'systrap',
      overlay: 'root:memory',
      debugDir: process.env.CUBBY_RUNSC_DEBUG_DIR,
    });
    this.dirs = new SandboxDirs(path.resolve(opts.stateDir, 'sandboxes'));
    this.disks = new SandboxDisks((id) => this.dirs.dir(id), path.resolve(opts.stateDir), opts.hostDiskReserveBytes ?? 2048 * MiB);
    this.execs = new ExecSessions({
      binary: this.runsc.opts.binary,
      root: this.runsc.opts.root,
      workDir: (id, n) => this.dirs.execDir(id, n),
    });
    this.frozen = new FrozenSandboxes((id) => this.cgroupPath(id));
    this.netPool = new NetworkPool(opts.network, this.tag, opts.networkPoolSize ?? 2);
    this.trimTimer = setInterval(() => void this.trimLogs(), opts.logTrimIntervalMs ?? 2000);
    this.trimTimer.unref();
  }

  private owner(id: string): string {
    return `${this.tag}:${id}`;
  }
  private cgroupPath(id: string): string {
    return `/cubby/${this.tag}/${id}`;
  }
  private log(rec: Pick<SandboxRecord, 'id' | 'logLimitBytes'>): BoundedLog {
    return new BoundedLog(this.dirs.dir(rec.id), rec.logLimitBytes);
  }

  async create(spec: SandboxSpec): Promise<SandboxInfo> {
    checkId(spec.id);
    if (!spec.process?.args?.length) throw new CubbyError('CUBBY_VALIDATION', 'process.args must name a program');
    await checkRootfs(spec.rootfs);
    return this.locks.run(spec.id, async () => {
      await this.claim(spec.id);
      // Cubby's resolver as /etc/resolv.conf: a mount like the others, so it is kept in the
      // sandbox's checkpoints and restores match what was made.
      const resolv = this.opts.network.resolvConf;
      const mounts = [
        ...(spec.mounts ?? []),
        ...(resolv && !spec.mounts?.some((m) => m.destination === '/etc/resolv.conf')
          ? [{ source: resolv, destination: '/etc/resolv.conf' }]
          : []),
      ];
      const rec: SandboxRecord = {
        id: spec.id,
        rootfs: spec.rootfs,
        process: spec.process,
        ...(mounts.length ? { mounts } : {}),
        limits: { ...spec.limits, diskBytes: spec.limits?.diskBytes ?? this.opts.defaultDiskBytes ?? DEFAULT_DISK_BYTES },
        overlay: DISK_OVERLAY,
        hostname: spec.hostname,
        egress: spec.egress ?? { mode: 'closed' },
        labels: spec.labels ?? {},
        logLimitBytes: spec.logLimitBytes ?? this.opts.logLimitBytes ?? 1 << 20,
        createdAt: new Date().toISOString(),
      };
      return this.boot(rec, ['run', '-detach'], 'RUNTIME_START_FAILED');
    });
  }

  async restore(spec: RestoreSpec): Promise<SandboxInfo> {
    checkId(spec.id);
    const m = await readManifest(spec.checkpointDir, { verified: this.verified });
    // Restore must use the checkpoint's overlay medium: checkpoints made before disks (root:memory)
    // restore as they were made; those with a disk get a fresh disk of the same size.
    if (m.platform !== this.runsc.opts.platform || (m.overlay !== MEMORY_OVERLAY && m.overlay !== DISK_OVERLAY)) {
      throw new CubbyError(
        'RUNTIME_CHECKPOINT_CORRUPT',
        `checkpoint was made with platform ${m.platform}/overlay ${m.overlay}; this runtime uses ${this.runsc.opts.platform}/${DISK_OVERLAY} or ${MEMORY_OVERLAY}`,
      );
    }
    await checkRootfs(m.rootfs);
    return this.locks.run(spec.id, async () => {
      await this.claim(spec.id);
      const rec: SandboxRecord = {
        id: spec.id,
        rootfs: m.rootfs,
        process: m.process,
        ...(m.mounts?.length ? { mounts: m.mounts } : {}),
        limits: m.overlay === DISK_OVERLAY ? { ...m.limits, diskBytes: m.limits?.diskBytes ?? DEFAULT_DISK_BYTES } : m.limits,
        overlay: m.overlay,
        hostname: m.hostname,
        egress: spec.egress ?? m.egress,
        labels: { ...m.labels, ...(spec.labels ?? {}) },
        logLimitBytes: spec.logLimitBytes ?? this.opts.logLimitBytes ?? 1 << 20,
        createdAt: new Date().toISOString(),
        restoredFrom: path.resolve(spec.checkpointDir),
      };
      const carried = await fs.readFile(path.join(spec.checkpointDir, CONSOLE_LOG)).catch(() => undefined);
      if (carried?.length) await fs.writeFile(this.log(rec).file, carried.subarray(-rec.logLimitBytes), { mode: 0o600 });
      // The memory pages' digest is checked while runsc restores (off the latency path); a
      // mismatch undoes the restore, so damaged memory is never handed out as a sandbox.
      const pages = verifyDeferred(spec.checkpointDir, m, this.verified).then(
        () => undefined,
        (e: unknown) => e,
      );
      const info = await this.boot(
        rec,
        ['restore', '-detach', `-image-path=${path.resolve(spec.checkpointDir)}`],
        'RUNTIME_RESTORE_FAILED',
      );
      const damaged = await pages;
      if (damaged) {
        await this.teardown(rec.id, await this.dirs.read(rec.id)).catch(() => undefined);
        throw damaged;
      }
      return info;
    });
  }

  async sealCheckpoint(dir: string): Promise<void> {
    await completeDigests(path.resolve(dir));
  }

  async inspectCheckpoint(dir: string): Promise<CheckpointInfo> {
    await readManifest(dir, { full: true });
    return { dir: path.resolve(dir), sizeBytes: await dirSize(dir) };
  }

  private async claim(id: string): Promise<void> {
    try {
      await this.dirs.claim(id);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST')
        throw new CubbyError('RUNTIME_DUPLICATE_ID', `a sandbox with id ${id} already exists`);
      throw e;
    }
  }

  /** Network, bundle, then runsc run/restore; on any failure everything made so far is undone. */
  private async boot(
    rec: SandboxRecord,
    verb: string[],
    failCode: 'RUNTIME_START_FAILED' | 'RUNTIME_RESTORE_FAILED',
  ): Promise<SandboxInfo> {
    try {
      // The record is written once the network exists; a crash before that leaves only a slot
      // owned by `<tag>:<id>`, which the sweep releases because no record keeps it.
      // The disk (mkfs + mount, ~20-80 ms) is made while the network is taken.
      const disk =
        rec.overlay === DISK_OVERLAY ? this.disks.create(rec.id, rec.limits?.diskBytes ?? DEFAULT_DISK_BYTES, failCode) : undefined;
      const [net, made] = await Promise.allSettled([this.netPool.take(this.owner(rec.id), rec.egress), disk]);
      // A network taken goes into the record even if the disk failed, so the teardown below releases it.
      if (net.status === 'rejected') throw net.reason;
      const network = (rec.network = net.value);
      if (made.status === 'rejected') throw made.reason;
      await this.dirs.write(rec);
      const config = buildOciSpec({
        rootfs: rec.rootfs,
        process: rec.process,
        limits: rec.limits,
        mounts: rec.mounts,
        hostname: rec.hostname,
        netnsPath: network.netnsPath,
        cgroupsPath: this.cgroupPath(rec.id),
      });
      await fs.writeFile(path.join(this.dirs.bundle(rec.id), 'config.json'), JSON.stringify(config), { mode: 0o600 });
      const log = this.log(rec);
      const fh = await log.open();
      let result: { code: number | null };
      try {
        result = await this.runsc.startDetached(
          [...verb, `-bundle=${this.dirs.bundle(rec.id)}`, rec.id],
          fh.fd,
          this.opts.startTimeoutMs ?? 60_000,
          this.sandboxFlags(rec),
        );
      } finally {
        await fh.close();
      }
      if (result.code !== 0) {
        const out = (await log.read()).toString('utf8');
        throw new CubbyError(failCode, `runsc ${verb[0]} failed (exit ${result.code}): ${tail(out, 1500)}`);
      }
      this.addresses.set(rec.id, network.sandboxAddress);
      return this.info(rec, 'running');
    } catch (e) {
      await this.teardown(rec.id, rec).catch(() => undefined);
      throw asCubbyError(e, failCode);
    }
  }

  async exec(id: string, opts: ExecOptions): Promise<ExecHandle> {
    // No `runsc state` round trip here (it costs as much as the exec): a sandbox that is not
    // running makes runsc exec fail, and that failure is reported as the exec's error.
    checkId(id);
    if (!(await this.dirs.exists(id)))
      throw new CubbyError('RUNTIME_NOT_FOUND', `cannot exec in sandbox ${id}: it does not exist (destroyed or never created)`);
    if (!opts.args?.length) throw new CubbyError('CUBBY_VALIDATION', 'exec needs a program');
    await this.frozen.refuse(id, 'exec in');
    return this.execs.start(id, opts);
  }

  async run(id: string, opts: ExecOptions & { input?: string | Buffer; timeoutMs?: number }): Promise<RunResult> {
    const h = await this.exec(id, opts);
    h.stdin.end(opts.input ?? '');
    const timer = opts.timeoutMs ? setTimeout(() => h.kill('SIGKILL'), opts.timeoutMs) : undefined;
    try {
      const [stdout, stderr, status] = await Promise.all([collect(h.stdout), collect(h.stderr), h.exit]);
      return { ...status, stdout, stderr };
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  async pause(id: string): Promise<void> {
    await this.locks.run(id, async () => {
      await this.existing(id, 'pause');
      await this.frozen.refuse(id, 'pause');
      await this.runsc
        .call(['pause', id], 'RUNTIME_COMMAND_FAILED', `pause ${id}`)
        .catch((e: unknown) => this.explain(id, 'pause', ['running'], e));
    });
  }

  async resume(id: string): Promise<void> {
    await this.locks.run(id, async () => {
      const s = await this.stateOf(id);
      if (s !== 'paused') throw new CubbyError('RUNTIME_BAD_STATE', `sandbox ${id} is ${s ?? 'gone'}, not paused`);
      await this.runsc.call(['resume', id], 'RUNTIME_COMMAND_FAILED', `resume ${id}`);
    });
  }

  async freeze(id: string): Promise<void> {
    await this.locks.run(id, async () => {
      await this.existing(id, 'freeze');
      if (await this.frozen.is(id)) return;
      const s = await this.stateOf(id);
      if (s !== 'running') throw new CubbyError('RUNTIME_BAD_STATE', `cannot freeze sandbox ${id}: it is ${s ?? 'not running'}`);
      await this.frozen.freeze(id);
    });
  }

  async thaw(id: string): Promise<void> {
    await this.locks.run(id, async () => {
      await this.existing(id, 'thaw');
      await this.frozen.thaw(id);
    });
  }

  async checkpoint(id: string, dir: string, opts: CheckpointOptions = {}): Promise<CheckpointInfo> {
    return this.locks.run(id, async () => {
      const rec = await this.existing(id, 'checkpoint');
      await this.frozen.refuse(id, 'checkpoint');
      const target = path.resolve(dir);
      await fs.mkdir(target, { recursive: true, mode: 0o700 });
      if ((await fs.readdir(target)).length > 0) throw new CubbyError('CUBBY_VALIDATION', `checkpoint directory ${target} is not empty`);
      // gVisor cannot restore a process whose stdio are host pipes: exec sessions end first.
      await this.execs.end(id);
      const args = ['checkpoint', `-image-path=${target}`, '-compression=none'];
      if (opts.leaveRunning) args.push('-leave-running');
      try {
        await this.runsc
          .call([...args, id], 'RUNTIME_CHECKPOINT_FAILED', `checkpoint ${id}`, 300_000)
          .catch((e: unknown) => this.explain(id, 'checkpoint', ['running', 'paused'], e));
        // The console log is part of the sandbox's state: a restore continues it.
        await fs.writeFile(path.join(target, CONSOLE_LOG), await this.log(rec).read(), { mode: 0o600 });
        await writeManifest(target, {
          format: 1,
          runtime: 'gvisor',
          platform: this.runsc.opts.platform,
          overlay: rec.overlay ?? MEMORY_OVERLAY,
          rootfs: rec.rootfs,
          process: rec.process,
          limits: rec.limits,
          ...(rec.mounts?.length ? { mounts: rec.mounts } : {}),
          hostname: rec.hostname,
          egress: rec.egress,
          labels: rec.labels,
          createdAt: new Date().toISOString(),
        });
      } catch (e) {
        // Never leave a half-written checkpoint that a later restore could mistake for a good one.
        for (const f of await fs.readdir(target).catch(() => [])) await fs.rm(path.join(target, f), { force: true, recursive: true });
        const err = asCubbyError(e, 'RUNTIME_CHECKPOINT_FAILED');
        if (/no space left|ENOSPC|disk quota/i.test(err.message))
          throw new CubbyError('RUNTIME_DISK_FULL', `checkpoint of ${id} failed: disk full`, { cause: e });
        throw err;
      }
      void completeDigests(target);
      return { dir: target, sizeBytes: await dirSize(target) };
    });
  }

  async destroy(id: string): Promise<void> {
    checkId(id);
    await this.locks.run(id, async () => {
      const rec = await this.dirs.read(id);
      const st = await this.stateOf(id);
      if (!rec && !st) throw new CubbyError('RUNTIME_NOT_FOUND', `no sandbox ${id}`);
      await this.teardown(id, rec);
    });
  }

  /** Releases everything a sandbox may hold; safe on partial state and when repeated. */
  private async teardown(id: string, rec: SandboxRecord | undefined): Promise<void> {
    this.addresses.delete(id);
    const errors: string[] = [];
    // Frozen processes cannot die (cgroup v1) and runsc would wait on them: thaw first.
    await this.frozen.thaw(id).catch((e: Error) => errors.push(e.message));
    await this.runsc.delete(id).catch((e: Error) => errors.push(e.message));
    await killSandboxProcesses(this.runsc.opts.root, this.dirs.bundle(id));
    if (rec?.network) await this.opts.network.release(rec.network).catch((e: Error) => errors.push(e.message));
    // Unmounted before the directory goes (the sandbox's processes are gone by now).
    await this.disks.release(id).catch((e: Error) => errors.push(e.message));
    await removeCgroups(this.cgroupPath(id), 3_000);
    await this.dirs.remove(id).catch((e: Error) => errors.push(e.message));
    if (errors.length) throw new CubbyError('RUNTIME_COMMAND_FAILED', `destroy ${id}: ${errors.join('; ')}`);
  }

  async get(id: string): Promise<SandboxInfo | undefined> {
    if (!SANDBOX_ID_PATTERN.test(id)) return undefined;
    const rec = await this.dirs.read(id);
    if (!rec?.network) return undefined;
    const info = this.info(rec, (await this.stateOf(id)) ?? 'stopped');
    if (info.state === 'stopped') {
      const reason = await exitReason({
        memoryCgroup: path.join(CGROUP_ROOT, 'memory', this.cgroupPath(id)),
        pidsCgroup: path.join(CGROUP_ROOT, 'pids', this.cgroupPath(id)),
        bootLog: path.join(this.dirs.dir(id), BOOT_LOG),
        memoryBytes: rec.limits?.memoryBytes,
        pids: rec.limits?.pids,
      }).catch(() => undefined);
      if (reason) info.exitReason = reason;
    }
    return info;
  }

  async address(id: string): Promise<string | undefined> {
    if (!SANDBOX_ID_PATTERN.test(id)) return undefined;
    return this.addresses.get(id) ?? (await this.dirs.read(id))?.network?.sandboxAddress;
  }

  async list(): Promise<SandboxInfo[]> {
    const ids = await this.dirs.ids();
    const states = await this.frozen.query(ids, async (others) => {
      // `runsc list` asks every sandbox and blocks on a frozen one: then each other is asked alone.
      if (others.length === ids.length) return new Map((await this.runsc.list()).map((s) => [s.id, mapState(s.status)]));
      const m = new Map<string, SandboxState>();
      for (const id of others) m.set(id, (await this.runscState(id)) ?? 'stopped');
      return m;
    });
    const out: SandboxInfo[] = [];
    for (const id of ids) {
      const rec = await this.dirs.read(id);
      if (rec?.network) out.push(this.info(rec, states.get(id) ?? 'stopped'));
    }
    return out;
  }

  async stats(id: string): Promise<SandboxStats> {
    const st = await this.stateOf((await this.existing(id, 'read stats of')).id);
    if (st !== 'running' && st !== 'paused' && st !== 'frozen')
      throw new CubbyError('RUNTIME_BAD_STATE', `cannot read stats of sandbox ${id}: it is ${st ?? 'not running'}`);
    const cg = this.cgroupPath(id);
    const mem = await fs.readFile(path.join(CGROUP_ROOT, 'memory', cg, 'memory.usage_in_bytes'), 'utf8').catch(() => '0');
    const cpu = await fs.readFile(path.join(CGROUP_ROOT, 'cpuacct', cg, 'cpuacct.usage'), 'utf8').catch(() => '0');
    const disk = (await this.dirs.read(id))?.overlay === DISK_OVERLAY ? await this.disks.usage(id) : undefined;
    return {
      memoryBytes: Number(mem.trim()),
      cpuSeconds: Number(cpu.trim()) / 1e9,
      ...(disk ? { diskUsedBytes: disk.used, diskTotalBytes: disk.total } : {}),
    };
  }

  async logs(id: string): Promise<Buffer> {
    const rec = await this.dirs.read(id);
    if (!rec) throw new CubbyError('RUNTIME_NOT_FOUND', `no sandbox ${id}`);
    return this.log(rec).read();
  }

  async recover(): Promise<void> {
    await killOrphanCommands(this.runsc.opts.root);
  }

  async sweep(keep: (id: string) => boolean): Promise<SweepReport> {
    const report: SweepReport = { sandboxes: [], other: [] };
    // runsc's own records, read from its root: `runsc list` would block on a frozen sandbox.
    const ids = new Set([...(await this.dirs.ids()), ...(await this.runsc.knownIds().catch(() => []))]);
    for (const id of ids) {
      if (keep(id)) continue;
      await this.locks.run(id, async () => {
        await this.teardown(id, await this.dirs.read(id)).catch(() => undefined);
      });
      report.sandboxes.push(id);
    }
    await removeCgroups(path.posix.dirname(this.cgroupPath('x')));
    const prefix = `${this.tag}:`;
    const net = await this.opts.network.sweep(
      (owner) => !owner.startsWith(prefix) || this.netPool.holds(owner) || keep(owner.slice(prefix.length)),
    );
    report.other.push(...net.removed);
    return report;
  }

  async close(): Promise<void> {
    clearInterval(this.trimTimer);
    await this.netPool.close();
    // The per-runtime cgroup parent goes once it is empty (rmdir refuses while sandboxes remain).
    await removeCgroups(path.posix.dirname(this.cgroupPath('x')));
  }

  private async trimLogs(): Promise<void> {
    for (const id of await this.dirs.ids()) {
      const rec = await this.dirs.read(id);
      if (rec)
        await this.log(rec)
          .trim()
          .catch(() => undefined);
    }
  }

  /** The sandbox's own overlay medium (its disk) and boot log, for run and restore. */
  private sandboxFlags(rec: SandboxRecord): { overlay: string; bootLog: string } {
    const overlay = rec.overlay === DISK_OVERLAY ? this.disks.overlayFlag(rec.id) : (rec.overlay ?? MEMORY_OVERLAY);
    return { overlay, bootLog: path.join(this.dirs.dir(rec.id), BOOT_LOG) };
  }

  private async stateOf(id: string): Promise<SandboxState | undefined> {
    return this.frozen.during(async () => ((await this.frozen.is(id)) ? 'frozen' : this.runscState(id)));
  }

  private async runscState(id: string): Promise<SandboxState | undefined> {
    const s = await this.runsc.state(id);
    return s ? mapState(s.status) : undefined;
  }

  /** The sandbox's record; no runsc round trip (runsc itself refuses what its state forbids). */
  private async existing(id: string, what: string): Promise<SandboxRecord> {
    checkId(id);
    const rec = await this.dirs.read(id);
    if (!rec) throw new CubbyError('RUNTIME_NOT_FOUND', `cannot ${what} sandbox ${id}: it does not exist (destroyed or never created)`);
    return rec;
  }

  /** Turns a failed runsc command into RUNTIME_BAD_STATE when the sandbox was not in a state that allows it. */
  private async explain(id: string, what: string, allowed: SandboxState[], e: unknown): Promise<never> {
    const s = await this.stateOf(id);
    if (!s || !allowed.includes(s))
      throw new CubbyError('RUNTIME_BAD_STATE', `cannot ${what} sandbox ${id}: it is ${s ?? 'not running'}`, { cause: e });
    throw e;
  }

  private info(rec: SandboxRecord, state: SandboxState): SandboxInfo {
    return {
      id: rec.id,
      state,
      address: rec.network?.sandboxAddress ?? '',
      rootfs: rec.rootfs,
      createdAt: new Date(rec.createdAt),
      labels: rec.labels,
    };
  }
}

function mapState(status: string | undefined): SandboxState {
  if (status === 'running' || status === 'created') return 'running';
  if (status === 'paused') return 'paused';
  return 'stopped';
}

function checkId(id: string): void {
  if (typeof id !== 'string' || !SANDBOX_ID_PATTERN.test(id)) {
    throw new CubbyError('RUNTIME_BAD_ID', `sandbox id must match ${SANDBOX_ID_PATTERN} (fixed length: runsc matches ids by prefix)`);
  }
}

async function checkRootfs(rootfs: string): Promise<void> {
  const st = await fs.stat(path.join(rootfs, 'bin')).catch(() => undefined);
  if (!path.isAbsolute(rootfs) || !st)
    throw new CubbyError('RUNTIME_ROOTFS_MISSING', `root filesystem ${rootfs} does not exist or is not a root filesystem`);
}

/** Removes a cgroup in every controller; `busyWaitMs` for a sandbox's own, whose processes were just killed. */
async function removeCgroups(cg: string, busyWaitMs = 0): Promise<void> {
  for (const ctrl of await fs.readdir(CGROUP_ROOT).catch(() => [] as string[])) {
    await removeCgroupDir(path.join(CGROUP_ROOT, ctrl, cg), busyWaitMs);
  }
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const f of await fs.readdir(dir)) total += (await fs.stat(path.join(dir, f))).size;
  return total;
}

/** A fresh sandbox id: the same form as a microVM id. */
export { newMicrovmId as newSandboxId } from '../../core/ids.js';
