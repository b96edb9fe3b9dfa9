/**
 * The steps that make a base root filesystem: debootstrap (or a copy of the image it derives
 * from), packages installed with apt-get in a chroot, the files sandboxes need, then cleanup.
 * Nothing is mounted into the chroot, so an interrupted build leaves only a plain directory.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CubbyError } from '../../errors/index.js';
import { streamCommand, type StreamOptions } from '../util/stream-command.js';
import { DEBIAN_SUITE } from './catalog.js';

const CHROOT_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  DEBIAN_FRONTEND: 'noninteractive',
  LANG: 'C.UTF-8',
  HOME: '/root',
};

export interface StepOptions {
  onLine?: (line: string) => void;
  timeoutMs: number;
}

async function must(what: string, cmd: string, args: string[], opts: StepOptions & Pick<StreamOptions, 'env'>): Promise<string> {
  const r = await streamCommand(cmd, args, { onLine: opts.onLine, timeoutMs: opts.timeoutMs, env: opts.env });
  if (r.code !== 0) {
    const tailText = r.output.trim().split('\n').slice(-15).join('\n');
    throw new CubbyError('IMAGE_BASE_BUILD_FAILED', `${what} failed (exit ${r.code ?? r.signal}):\n${tailText}`);
  }
  return r.stdout;
}

function inChroot(rootfs: string, script: string, opts: StepOptions): Promise<string> {
  return must(`chroot: ${script.slice(0, 80)}`, 'chroot', [rootfs, '/bin/sh', '-ec', script], { ...opts, env: CHROOT_ENV });
}

export async function debootstrap(rootfs: string, mirror: string, opts: StepOptions): Promise<void> {
  await must('debootstrap', 'debootstrap', ['--variant=minbase', DEBIAN_SUITE, rootfs, mirror], opts);
}

export async function copyRootfs(from: string, to: string, opts: StepOptions): Promise<void> {
  await fs.mkdir(to, { recursive: true });
  await must('copy of the parent rootfs', 'cp', ['-a', '--reflink=auto', `${from}/.`, `${to}/`], opts);
}

/** Debian's security archive beside `mirror` (deb.debian.org's when the mirror is not a plain /debian one). */
export function securityMirror(mirror: string): string {
  return /\/debian\/?$/.test(mirror) ? `${mirror.replace(/\/$/, '')}-security` : 'http://deb.debian.org/debian-security';
}

/**
 * `securityUpdates` adds bookworm-security, so packages Debian maintains there (chromium, nodejs)
 * come with their fixes; it stays in the image's sources for the Dockerfile's own apt-get.
 */
export async function installPackages(
  rootfs: string,
  packages: string[],
  mirror: string,
  opts: StepOptions,
  securityUpdates = false,
): Promise<void> {
  if (packages.length === 0) return;
  // Name resolution for apt inside the chroot, and no service starts from maintainer scripts.
  await fs.copyFile('/etc/resolv.conf', path.join(rootfs, 'etc/resolv.conf')).catch(() => undefined);
  const security = securityUpdates ? `deb ${securityMirror(mirror)} ${DEBIAN_SUITE}-security main\n` : '';
  await fs.writeFile(path.join(rootfs, 'etc/apt/sources.list'), `deb ${mirror} ${DEBIAN_SUITE} main\n${security}`);
  await fs.writeFile(path.join(rootfs, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  await inChroot(rootfs, `apt-get update -q && apt-get install -y -q --no-install-recommends ${packages.join(' ')}`, opts);
}

/** The files every sandbox expects, and the unprivileged user `app` (uid/gid 1000). */
export async function configure(rootfs: string, opts: StepOptions): Promise<void> {
  await fs.writeFile(path.join(rootfs, 'etc/hostname'), 'cubby\n');
  await fs.writeFile(path.join(rootfs, 'etc/hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  const passwd = await fs.readFile(path.join(rootfs, 'etc/passwd'), 'utf8');
  if (!/^app:/m.test(passwd)) {
    await inChroot(rootfs, 'groupadd --gid 1000 app && useradd --uid 1000 --gid 1000 --create-home --shell /bin/sh app', opts);
  }
}

/** A recipe's own files (launchers), written before its setup script runs. */
export async function writeFiles(
  rootfs: string,
  files: readonly { path: string; mode: number; content: string }[] | undefined,
): Promise<void> {
  for (const f of files ?? []) {
    const dest = path.join(rootfs, f.path);
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.writeFile(dest, f.content, { mode: f.mode });
    await fs.chmod(dest, f.mode);
  }
}

/** A recipe's own setup script, run in the chroot. */
export async function runSetup(rootfs: string, script: string | undefined, opts: StepOptions): Promise<void> {
  if (script) await inChroot(rootfs, script, opts);
}

export async function cleanup(rootfs: string, opts: StepOptions): Promise<void> {
  await inChroot(
    rootfs,
    [
      'apt-get clean',
      'rm -rf /usr/sbin/policy-rc.d /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/* /var/tmp/* /root/.cache',
      'find /var/log -type f -delete',
    ].join(' && '),
    opts,
  );
  // Empty: the runtime's network decides name resolution, not the build host.
  await fs.writeFile(path.join(rootfs, 'etc/resolv.conf'), '');
}

export async function listPackages(rootfs: string, opts: StepOptions): Promise<string[]> {
  const out = await inChroot(rootfs, "dpkg-query -W -f='${Package}=${Version}\\n'", { ...opts, onLine: undefined });
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
}
