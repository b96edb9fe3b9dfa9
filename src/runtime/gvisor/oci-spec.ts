/** Builds the OCI runtime spec (config.json) runsc runs a sandbox from. */
import type { ProcessSpec, ReadOnlyMount, ResourceLimits } from '../../core/ports/runtime.js';
import { defaultAddressSpace } from '../../core/ports/runtime.js';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface OciSpecInput {
  rootfs: string;
  process: ProcessSpec;
  limits?: ResourceLimits;
  mounts?: ReadOnlyMount[];
  hostname?: string;
  netnsPath: string;
  cgroupsPath: string;
  terminal?: boolean;
}

/**
 * MALLOC_ARENA_MAX: every process runs under an address-space limit (see defaultAddressSpace), and
 * glibc otherwise reserves a 64 MiB malloc arena per thread, up to 8 per core, and keeps them:
 * measured, ten short-lived threads left a Python app in a 1024 MiB sandbox unable to allocate 64 MiB
 * ever after. Two arenas is the usual container setting; the image or caller can override it.
 */
export function envList(env: Record<string, string> | undefined): string[] {
  const merged: Record<string, string> = { PATH: DEFAULT_PATH, HOME: '/root', MALLOC_ARENA_MAX: '2', ...(env ?? {}) };
  return Object.entries(merged).map(([k, v]) => `${k}=${v}`);
}

const MiB = 1024 * 1024;

/**
 * The process and thread cap of a sandbox when the caller names none. gVisor 20240729 has no
 * in-sandbox task limit of its own, and the cgroup pids and memory limits kill the whole
 * sandbox when hit. RLIMIT_NPROC does act inside: the app runs as uid 0 but with an empty
 * capability set (no CAP_SYS_RESOURCE/CAP_SYS_ADMIN), so gVisor holds root to it too; measured,
 * fork and clone (threads) then fail with EAGAIN at the cap and the sandbox lives on. The count
 * is per uid across the sandbox, zombies included. What a task costs is the bound: gVisor breaks
 * copy-on-write in 2 MiB units, so each child forked from a Python HTTP app took ~8 MiB of sandbox
 * memory (measured: 128 children killed a 1024 MiB sandbox, 62 took 537 MiB of it). Hence one task
 * per 16 MiB (64 at 1024 MiB, 128 at 2048 MiB), between 16 and 1024; a child that itself grows is
 * held by RLIMIT_AS, not by this.
 */
export function defaultProcesses(memoryBytes: number | undefined): number {
  if (!memoryBytes) return 1024;
  return Math.min(1024, Math.max(16, Math.floor(memoryBytes / MiB / 16)));
}

/** Per-process rlimits: they act inside the sandbox (an error to the process) instead of killing it. */
export function rlimits(limits: ResourceLimits | undefined): Array<{ type: string; hard: number; soft: number }> {
  const files = limits?.rlimits?.openFiles ?? 65536;
  const out = [{ type: 'RLIMIT_NOFILE', hard: files, soft: files }];
  // 0 turns the default off (runtimes that reserve much more address space than they use: JVM).
  const as = limits?.rlimits?.addressSpaceBytes ?? defaultAddressSpace(limits?.memoryBytes);
  if (as) out.push({ type: 'RLIMIT_AS', hard: as, soft: as });
  let nproc = limits?.rlimits?.processes ?? defaultProcesses(limits?.memoryBytes);
  // Each task has host threads and processes (systrap stubs) in the cgroup: stay well below its pids limit.
  if (limits?.pids) nproc = Math.min(nproc, Math.floor(limits.pids / 2));
  out.push({ type: 'RLIMIT_NPROC', hard: nproc, soft: nproc });
  return out;
}

export function processSpec(p: ProcessSpec, limits: ResourceLimits | undefined, terminal = false): Record<string, unknown> {
  return {
    terminal,
    user: { uid: p.uid ?? 0, gid: p.gid ?? p.uid ?? 0 },
    args: p.args,
    env: envList(p.env),
    cwd: p.cwd ?? '/',
    rlimits: rlimits(limits),
    ...(p.capabilities?.length ? { capabilities: { bounding: p.capabilities, effective: p.capabilities, permitted: p.capabilities } } : {}),
    noNewPrivileges: true,
  };
}

export function buildOciSpec(input: OciSpecInput): Record<string, unknown> {
  const resources: Record<string, unknown> = {};
  const l = input.limits;
  if (l?.memoryBytes) resources.memory = { limit: l.memoryBytes };
  if (l?.cpus) resources.cpu = { quota: Math.max(1000, Math.round(l.cpus * 100_000)), period: 100_000 };
  if (l?.pids) resources.pids = { limit: l.pids };
  return {
    ociVersion: '1.0.2',
    process: processSpec(input.process, l, input.terminal),
    root: { path: input.rootfs, readonly: false },
    hostname: input.hostname ?? 'cubby',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
      ...(input.mounts ?? []).map((m) => ({ destination: m.destination, type: 'bind', source: m.source, options: ['rbind', 'ro'] })),
    ],
    linux: {
      cgroupsPath: input.cgroupsPath,
      resources,
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network', path: input.netnsPath }],
    },
  };
}
