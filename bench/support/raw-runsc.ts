/**
 * The floor: the same work done with raw commands (ip for the netns and veth, runsc run /
 * exec / checkpoint / restore with the same flags and spec), no Cubby code in the path.
 * Uses its own /30s from 10.215.0.0/16 and its own runsc root.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { buildOciSpec } from '../../src/runtime/gvisor/oci-spec.js';
import type { ProcessSpec, ReadOnlyMount, ResourceLimits } from '../../src/core/ports/runtime.js';
import { mountLoopDisk, releaseLoopDisk } from '../../src/util/loop-disk.js';

function sh(cmd: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: [input ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: ${err}`))));
    if (input) c.stdin?.end(input);
  });
}

export class RawRunsc {
  private n = 0;
  readonly flags: string[];
  constructor(
    readonly dir: string,
    readonly rootfs: string,
  ) {
    this.flags = [
      `--root=${path.join(dir, 'root')}`,
      '--platform=systrap',
      '--network=sandbox',
      '--net-disconnect-ok',
      '--overlay2=root:memory',
    ];
  }

  address(idx: number): string {
    return `10.215.${Math.floor(idx / 64)}.${(idx % 64) * 4 + 2}`;
  }

  /** netns + veth + addresses, as few commands as possible. */
  async netns(): Promise<{ ns: string; idx: number }> {
    // Per process a block of 1024 slots; 16384 slots in all keep the third octet within 0-255.
    const idx = (process.pid % 16) * 1024 + (++this.n % 1024);
    const ns = `rawb${idx}`;
    const a = (k: number) => `10.215.${Math.floor(idx / 64)}.${(idx % 64) * 4 + k}`;
    await sh('ip', ['netns', 'add', ns]);
    await sh(
      'ip',
      ['-batch', '-'],
      `link add rbh${idx} type veth peer name rbs${idx} netns ${ns}\naddr add ${a(1)}/30 dev rbh${idx}\nlink set rbh${idx} up\n`,
    );
    await sh(
      'ip',
      ['-n', ns, '-batch', '-'],
      `addr add ${a(2)}/30 dev rbs${idx}\nlink set rbs${idx} up\nlink set lo up\nroute add default via ${a(1)}\n`,
    );
    return { ns, idx };
  }

  /** `limits`/`hostname`/`mounts`: as the checkpoint was made with, when restoring one of Cubby's (runsc needs the same mounts). */
  async bundle(
    id: string,
    ns: string,
    proc: ProcessSpec,
    extra: { limits?: ResourceLimits; hostname?: string; mounts?: ReadOnlyMount[] } = {},
  ): Promise<string> {
    const b = path.join(this.dir, 'bundles', id);
    await fs.mkdir(b, { recursive: true });
    const spec = buildOciSpec({
      rootfs: this.rootfs,
      process: proc,
      ...extra,
      netnsPath: `/var/run/netns/${ns}`,
      cgroupsPath: `/cubby-raw/${id}`,
    });
    await fs.writeFile(path.join(b, 'config.json'), JSON.stringify(spec));
    return b;
  }

  /**
   * The overlay a checkpoint was made with must be the one it restores with: Cubby's sandboxes
   * keep their files on their own disk (`root:dir=`, a loop-mounted ext4), so the floor makes the
   * same disk, with the same commands, for each sandbox that uses one.
   */
  async disk(id: string, bytes: number): Promise<string> {
    const file = path.join(this.dir, 'disks', `${id}.img`);
    const mnt = path.join(this.dir, 'disks', id);
    await fs.mkdir(mnt, { recursive: true });
    await mountLoopDisk(file, mnt, bytes, 'RUNTIME_DISK_FULL', 'the floor sandbox disk');
    this.disks.set(id, { file, mnt });
    return `--overlay2=root:dir=${mnt}`;
  }

  private readonly disks = new Map<string, { file: string; mnt: string }>();
  private readonly overlays = new Map<string, string>();

  /** Restores and runs of `id` use this overlay flag instead of root:memory. */
  useOverlay(id: string, flag: string): void {
    this.overlays.set(id, flag);
  }

  private detached(args: string[], id?: string): Promise<void> {
    const overlay = id ? this.overlays.get(id) : undefined;
    const flags = overlay ? [...this.flags.filter((f) => !f.startsWith('--overlay2=')), overlay] : this.flags;
    const cmd = ['runsc', ...flags, ...args].join(' ');
    return sh('unshare', [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount -t tmpfs -o ro tmpfs /proc/sys/net && exec ${cmd} >/dev/null 2>&1`,
    ]);
  }

  run(id: string, bundle: string): Promise<void> {
    return this.detached(['run', '-detach', `-bundle=${bundle}`, id], id);
  }
  restore(id: string, bundle: string, image: string): Promise<void> {
    return this.detached(['restore', '-detach', `-image-path=${image}`, `-bundle=${bundle}`, id], id);
  }
  exec(id: string, args: string[]): Promise<void> {
    return sh('runsc', [this.flags[0] ?? '', 'exec', id, ...args]);
  }
  checkpoint(id: string, image: string): Promise<void> {
    return sh('runsc', [...this.flags, 'checkpoint', `-image-path=${image}`, '-compression=none', id]);
  }

  async destroy(id: string, ns: string, idx: number): Promise<void> {
    await sh('runsc', [this.flags[0] ?? '', 'delete', '-force', id]).catch(() => undefined);
    await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
    await sh('ip', ['link', 'del', `rbh${idx}`]).catch(() => undefined);
    const disk = this.disks.get(id);
    if (disk) await releaseLoopDisk(disk.file, disk.mnt).catch(() => undefined);
    this.disks.delete(id);
    this.overlays.delete(id);
    for (const c of ['memory', 'cpu', 'cpuacct', 'pids']) await fs.rmdir(`/sys/fs/cgroup/${c}/cubby-raw/${id}`).catch(() => undefined);
  }

  async close(): Promise<void> {
    for (const c of ['memory', 'cpu', 'cpuacct', 'pids']) await fs.rmdir(`/sys/fs/cgroup/${c}/cubby-raw`).catch(() => undefined);
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}
