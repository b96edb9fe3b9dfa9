/**
 * The managed base images Cubby ships. A recipe change (packages, steps, Debian suite) must bump
 * the version, and so must a change to the image it derives from: a version names one recipe.
 */
import type { ManagedImageDef } from '../../core/ports/images.js';

export interface BaseRecipe extends ManagedImageDef {
  /** Derived from this managed image (its current version) instead of a fresh debootstrap. */
  from?: string;
  /** Shell run in the chroot after the packages are installed (users, sudoers). */
  setup?: string;
}

export const DEBIAN_SUITE = 'bookworm';
export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';

export const BASE_RECIPES: readonly BaseRecipe[] = [
  {
    name: 'debian-12-minimal',
    version: '1.0',
    description: 'Debian 12 (bookworm), debootstrap minbase',
    packages: [],
  },
  {
    name: 'debian-12-python',
    version: '1.0',
    description: 'Debian 12 (bookworm) with python3 and pip',
    packages: ['python3', 'python3-pip'],
    // Deriving takes ~10 s on top of the minimal image (a second debootstrap would take ~30 s).
    from: 'debian-12-minimal',
  },
  {
    name: 'debian-12-e2b',
    version: '1.0',
    description: "Debian 12 (bookworm) with E2B's conventions: user `user` (passwordless sudo), bash, python3, git, curl, Node.js",
    packages: ['bash', 'sudo', 'python3', 'python3-pip', 'python-is-python3', 'git', 'curl', 'ca-certificates', 'nodejs', 'procps', 'less'],
    from: 'debian-12-minimal',
    // E2B's base template: `user` (uid 1001; 1000 is Cubby's `app`) with home /home/user, bash, sudo without a password.
    setup: [
      'id -u user >/dev/null 2>&1 || useradd --uid 1001 --user-group --create-home --home-dir /home/user --shell /bin/bash user',
      'adduser user sudo >/dev/null',
      "printf 'user ALL=(ALL:ALL) NOPASSWD: ALL\\n' > /etc/sudoers.d/user",
      'chmod 0440 /etc/sudoers.d/user',
    ].join(' && '),
  },
];

export const VERSION_PATTERN = /^\d+\.\d+$/;

/** Orders "major.minor" strings numerically. */
export function compareVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}
