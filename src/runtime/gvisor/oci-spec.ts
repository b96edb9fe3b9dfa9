/** Builds the OCI runtime spec (config.json) runsc runs a sandbox from. */
import type { ProcessSpec, ResourceLimits } from '../../core/ports/runtime.js';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface OciSpecInput {
  rootfs: string;
  process: ProcessSpec;
  limits?: ResourceLimits;
  hostname?: string;
  netnsPath: string;
  cgroupsPath: string;
  terminal?: boolean;
}

export function envList(env: Record<string, string> | undefined): string[] {
  const merged: Record<string, string> = { PATH: DEFAULT_PATH, HOME: '/root', ...(env ?? {}) };
  return Object.entries(merged).map(([k, v]) => `${k}=${v}`);
}

/** Per-process rlimits: they act inside the sandbox (an error to the process) instead of killing it. */
export function rlimits(limits: ResourceLimits | undefined): Array<{ type: string; hard: number; soft: number }> {
  const out = [{ type: 'RLIMIT_NOFILE', hard: limits?.rlimits?.openFiles ?? 65536, soft: limits?.rlimits?.openFiles ?? 65536 }];
  if (limits?.rlimits?.addressSpaceBytes)
    out.push({ type: 'RLIMIT_AS', hard: limits.rlimits.addressSpaceBytes, soft: limits.rlimits.addressSpaceBytes });
  if (limits?.rlimits?.processes) out.push({ type: 'RLIMIT_NPROC', hard: limits.rlimits.processes, soft: limits.rlimits.processes });
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
    ],
    linux: {
      cgroupsPath: input.cgroupsPath,
      resources,
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network', path: input.netnsPath }],
    },
  };
}
