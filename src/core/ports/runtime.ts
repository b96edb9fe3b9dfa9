/**
 * The runtime port: what the core needs from an isolation technology. gVisor implements it
 * today; a Firecracker or QEMU driver must pass the same contract test (test/runtime/contract.ts).
 */
import type { Readable, Writable } from 'node:stream';
import type { EgressPolicy } from './network.js';

/** Sandbox ids: fixed length (runsc matches ids by prefix), lower-case letters and digits. */
export const SANDBOX_ID_PATTERN = /^[a-z0-9]{20}$/;

export interface ProcessSpec {
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  uid?: number;
  gid?: number;
  /**
   * Linux capabilities of the sandbox's first process (e.g. CAP_SETUID): none by default. Only for
   * a trusted first process that must act as other users (Cubby's agent), never for an app.
   */
  capabilities?: string[];
}

export interface ResourceLimits {
  /** Hard memory limit of the whole sandbox. */
  memoryBytes?: number;
  /** CPU quota in cores (0.25 = a quarter of one core). */
  cpus?: number;
  /** Max tasks in the sandbox's cgroup. */
  pids?: number;
  /**
   * Size of the sandbox's own disk (its writable layer): writes past it fail with ENOSPC, and
   * file data lives on that disk, not in the sandbox's memory. Absent: the runtime's default.
   */
  diskBytes?: number;
  /** Per-process limits applied inside, so a hog gets errors instead of killing the sandbox. */
  rlimits?: { addressSpaceBytes?: number; processes?: number; openFiles?: number };
}

/** A host file or directory shown read-only inside the sandbox (e.g. Cubby's in-sandbox agent). */
export interface ReadOnlyMount {
  /** Absolute host path; must stay in place while any sandbox or checkpoint uses it. */
  source: string;
  /** Absolute path inside the sandbox. */
  destination: string;
}

export interface SandboxSpec {
  id: string;
  /** Absolute path of a base root filesystem; never modified: writes go to a private layer. */
  rootfs: string;
  process: ProcessSpec;
  /** Read-only bind mounts; kept in the sandbox's checkpoints, so restores and clones get the same ones. */
  mounts?: ReadOnlyMount[];
  limits?: ResourceLimits;
  egress?: EgressPolicy;
  hostname?: string;
  /** Bound on the captured stdout/stderr log (bytes kept). */
  logLimitBytes?: number;
  /** Free-form labels stored with the sandbox (owner, tenant, purpose). */
  labels?: Record<string, string>;
}

export interface RestoreSpec {
  id: string;
  /** Directory written by checkpoint(). */
  checkpointDir: string;
  /** Overrides the checkpointed sandbox's egress policy. */
  egress?: EgressPolicy;
  labels?: Record<string, string>;
  logLimitBytes?: number;
}

/**
 * `frozen`: stopped whole from the outside (freeze()), memory kept, no CPU used; commands that
 * need the sandbox's cooperation (exec, run, pause, checkpoint) are refused until thaw().
 */
export type SandboxState = 'running' | 'paused' | 'frozen' | 'stopped';

export interface SandboxInfo {
  id: string;
  state: SandboxState;
  /** Address on which the host reaches the sandbox's ports. */
  address: string;
  rootfs: string;
  createdAt: Date;
  labels: Record<string, string>;
  /** Why a stopped sandbox stopped, in words a user can act on (when the runtime can tell). */
  exitReason?: string;
}

export interface ExecOptions extends ProcessSpec {
  /** Allocate a terminal of this size; stdout then carries the terminal's output, stderr is empty. */
  tty?: { cols: number; rows: number };
}

export interface ExitStatus {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: string | null;
}

export interface ExecHandle {
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly stdin: Writable;
  resize(cols: number, rows: number): void;
  /** Signals the process inside (SIGTERM by default). */
  kill(signal?: NodeJS.Signals): void;
  readonly exit: Promise<ExitStatus>;
}

export interface RunResult extends ExitStatus {
  stdout: Buffer;
  stderr: Buffer;
}

export interface CheckpointOptions {
  /** Keep the sandbox running after the checkpoint (default: it stops). */
  leaveRunning?: boolean;
}

export interface CheckpointInfo {
  dir: string;
  sizeBytes: number;
}

export interface SandboxStats {
  memoryBytes: number;
  cpuSeconds: number;
  /** The sandbox's writable filesystem (its upper layer): bytes used and its size, when known. */
  diskUsedBytes?: number;
  diskTotalBytes?: number;
}

export interface SweepReport {
  sandboxes: string[];
  other: string[];
}

export interface SandboxRuntime {
  readonly name: string;
  create(spec: SandboxSpec): Promise<SandboxInfo>;
  exec(id: string, opts: ExecOptions): Promise<ExecHandle>;
  /** Runs a command to completion and collects its output (bounded by timeoutMs). */
  run(id: string, opts: ExecOptions & { input?: string | Buffer; timeoutMs?: number }): Promise<RunResult>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /**
   * Stops every process of a running sandbox from outside (no CPU at all, memory kept): the idle
   * tier. Freezing a frozen sandbox does nothing; a sandbox that is not running (paused,
   * stopped) is RUNTIME_BAD_STATE. Must cost milliseconds, not a checkpoint.
   */
  freeze(id: string): Promise<void>;
  /** Undoes freeze(); does nothing for a sandbox that is not frozen. RUNTIME_NOT_FOUND when it does not exist. */
  thaw(id: string): Promise<void>;
  checkpoint(id: string, dir: string, opts?: CheckpointOptions): Promise<CheckpointInfo>;
  restore(spec: RestoreSpec): Promise<SandboxInfo>;
  /**
   * Completes a checkpoint's integrity data at its final place (digests of large files are
   * computed off the checkpoint's latency path). Call after moving a checkpoint directory.
   */
  sealCheckpoint(dir: string): Promise<void>;
  /** Checks a checkpoint directory without restoring it (RUNTIME_CHECKPOINT_MISSING / _CORRUPT). */
  inspectCheckpoint(dir: string): Promise<CheckpointInfo>;
  destroy(id: string): Promise<void>;
  get(id: string): Promise<SandboxInfo | undefined>;
  /** The address the host reaches the sandbox at, from the runtime's own record (no liveness round trip). */
  address(id: string): Promise<string | undefined>;
  list(): Promise<SandboxInfo[]>;
  stats(id: string): Promise<SandboxStats>;
  /** The bounded stdout/stderr log of the sandbox's main process. */
  logs(id: string): Promise<Buffer>;
  /**
   * Ends runtime commands a previous owner of this state left running (a daemon killed in the
   * middle of a restore or checkpoint), so they cannot finish after reconciliation. Call first.
   */
  recover(): Promise<void>;
  /** Removes every sandbox (and its resources) this runtime made that `keep` does not name. */
  sweep(keep: (id: string) => boolean): Promise<SweepReport>;
  /** Stops background work; leaves sandboxes running. */
  close(): Promise<void>;
}

/**
 * One process's address space when the caller names none: three quarters of the sandbox's memory,
 * so a single growing process gets ENOMEM (Python: MemoryError) while the sandbox, whose memory
 * limit kills it whole (gVisor has no per-process OOM killer), keeps room for the rest.
 */
export function defaultAddressSpace(memoryBytes: number | undefined): number | undefined {
  return memoryBytes ? Math.floor((memoryBytes * 3) / 4) : undefined;
}
