/**
 * What a sandbox costs the host, read from its cgroup (v1): every runsc process of a sandbox
 * (sentry, gofer, systrap stubs) lives in the cgroup its spec names.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

const CG = '/sys/fs/cgroup';

export interface Usage {
  /** Anonymous + shmem pages charged to the cgroup (the sandbox's memory file is shmem). */
  memBytes: number;
  /** Proportional set size of its processes (shared runsc binary pages split between sandboxes). */
  pssBytes: number;
  /** CPU time of the cgroup so far. */
  cpuNs: number;
  procs: number;
}

/** The cgroup (relative to a controller) of one of a Cubby runtime's sandboxes: cubby/<tag>/<id>. */
export async function cubbyCgroup(id: string): Promise<string> {
  for (const tag of await fs.readdir(path.join(CG, 'memory', 'cubby')).catch(() => [] as string[])) {
    const rel = path.join('cubby', tag, id);
    if (
      await fs.stat(path.join(CG, 'memory', rel)).then(
        () => true,
        () => false,
      )
    )
      return rel;
  }
  throw new Error(`no cgroup for sandbox ${id}`);
}

export async function cgroupExists(rel: string): Promise<boolean> {
  return fs.stat(path.join(CG, 'memory', rel)).then(
    () => true,
    () => false,
  );
}

export async function cgroupUsage(rel: string): Promise<Usage> {
  const stat = new Map(
    (await fs.readFile(path.join(CG, 'memory', rel, 'memory.stat'), 'utf8'))
      .split('\n')
      .map((l) => l.split(' '))
      .map(([k, v]) => [k ?? '', Number(v)]),
  );
  const cpu = Number((await fs.readFile(path.join(CG, 'cpuacct', rel, 'cpuacct.usage'), 'utf8')).trim());
  const pids = (await fs.readFile(path.join(CG, 'memory', rel, 'cgroup.procs'), 'utf8')).split('\n').filter(Boolean);
  // systrap stub processes of one address space share it (CLONE_VM): their rollups are
  // identical, and counting each would count that memory several times.
  const rollups = new Set<string>();
  for (const pid of pids) {
    const r = await fs.readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
    if (r) rollups.add(r);
  }
  let pss = 0;
  for (const r of rollups) pss += Number(/^Pss:\s+(\d+) kB/m.exec(r)?.[1] ?? 0) * 1024;
  return { memBytes: (stat.get('rss') ?? 0) + (stat.get('shmem') ?? 0), pssBytes: pss, cpuNs: cpu, procs: pids.length };
}

export async function memAvailableBytes(): Promise<number> {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(await fs.readFile('/proc/meminfo', 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** Bytes the files of a directory take on disk (allocated blocks, not apparent size). */
export async function diskBytes(dir: string): Promise<number> {
  let total = 0;
  for (const f of await fs.readdir(dir)) total += (await fs.stat(path.join(dir, f))).blocks * 512;
  return total;
}

export async function freeDiskBytes(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return s.bavail * s.bsize;
}
